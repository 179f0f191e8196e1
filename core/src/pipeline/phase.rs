//! Phases and their order: the five defaults, custom phases, and Ktor's insertion rules.
//!
//! A [`PhaseList`] keeps each phase with the relation it was added under (last, before X, after
//! X). The relations are what make insertion and merging keep the order a reader expects:
//! several phases inserted after the same reference stay in insertion order, and merging two
//! pipelines re-plays the other's relations against this one's list.

use core::fmt;

use super::PipelineError;

/// Phases a pipeline can have.
pub const MAX_PHASES: usize = 16;

/// A named phase. Two phases are the same phase when their names are equal.
///
/// `Setup` is accepted as another name for [`Phase::ACQUIRE`]: `Phase::new("Setup")` and
/// [`Phase::SETUP`] both give `Acquire`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Phase {
    name: &'static str,
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl Phase {
    /// Where an event is acquired and set up (Ktor's `Setup`).
    pub const ACQUIRE: Phase = Phase { name: "Acquire" };
    /// Another name for [`Phase::ACQUIRE`].
    pub const SETUP: Phase = Phase::ACQUIRE;
    /// Where interceptors wrap everything downstream to time it and catch its failures.
    pub const MONITORING: Phase = Phase { name: "Monitoring" };
    /// Where events are validated and enriched.
    pub const FEATURES: Phase = Phase { name: "Features" };
    /// Where the work is done.
    pub const PROCESS: Phase = Phase { name: "Process" };
    /// The last safety net: failed events are dead-lettered here.
    pub const FALLBACK: Phase = Phase { name: "Fallback" };

    /// The five default phases, in order.
    pub const DEFAULTS: [Phase; 5] =
        [Phase::ACQUIRE, Phase::MONITORING, Phase::FEATURES, Phase::PROCESS, Phase::FALLBACK];

    /// A phase named `name`; `"Setup"` names [`Phase::ACQUIRE`].
    pub const fn new(name: &'static str) -> Phase {
        if same(name, "Setup") { Phase::ACQUIRE } else { Phase { name } }
    }

    /// The phase's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl fmt::Debug for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phase({})", self.name)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// How a phase came into the list; merging re-plays it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Relation {
    /// Appended at the end.
    Last,
    /// Inserted before the reference.
    Before(Phase),
    /// Inserted after the reference (and after phases inserted after it earlier).
    After(Phase),
}

/// The ordered phases of one pipeline.
#[derive(Clone, Debug)]
pub(crate) struct PhaseList {
    entries: heapless::Vec<(Phase, Relation), MAX_PHASES>,
}

impl Default for PhaseList {
    fn default() -> Self {
        let mut entries = heapless::Vec::new();
        for phase in Phase::DEFAULTS {
            // Cannot fail: five is below MAX_PHASES.
            let _ = entries.push((phase, Relation::Last));
        }
        PhaseList { entries }
    }
}

impl PhaseList {
    /// An empty list.
    pub(crate) const fn empty() -> Self {
        PhaseList { entries: heapless::Vec::new() }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = Phase> + '_ {
        self.entries.iter().map(|(phase, _)| *phase)
    }

    pub(crate) fn position(&self, phase: Phase) -> Option<usize> {
        self.entries.iter().position(|(p, _)| *p == phase)
    }

    pub(crate) fn contains(&self, phase: Phase) -> bool {
        self.position(phase).is_some()
    }

    fn insert_at(
        &mut self,
        at: usize,
        phase: Phase,
        relation: Relation,
    ) -> Result<(), PipelineError> {
        self.entries
            .insert(at, (phase, relation))
            .map_err(|_| PipelineError::TooManyPhases { capacity: MAX_PHASES })
    }

    /// Appends `phase`; nothing happens if it is already there.
    pub(crate) fn add(&mut self, phase: Phase) -> Result<(), PipelineError> {
        if self.contains(phase) {
            return Ok(());
        }
        self.insert_at(self.entries.len(), phase, Relation::Last)
    }

    /// Inserts `phase` after `reference` and after every phase inserted after `reference`
    /// before it, so that repeated insertions keep their order. Nothing happens if `phase` is
    /// already there.
    pub(crate) fn insert_after(
        &mut self,
        reference: Phase,
        phase: Phase,
    ) -> Result<(), PipelineError> {
        if self.contains(phase) {
            return Ok(());
        }
        let index = self.position(reference).ok_or(PipelineError::UnknownPhase(reference))?;
        let mut last_related = index;
        for (i, (_, relation)) in self.entries.iter().enumerate().skip(index + 1) {
            match relation {
                Relation::Last => break,
                Relation::After(r) if *r == reference => last_related = i,
                _ => {}
            }
        }
        self.insert_at(last_related + 1, phase, Relation::After(reference))
    }

    /// Inserts `phase` right before `reference`; phases inserted before the same reference
    /// earlier stay in front of it. Nothing happens if `phase` is already there.
    pub(crate) fn insert_before(
        &mut self,
        reference: Phase,
        phase: Phase,
    ) -> Result<(), PipelineError> {
        if self.contains(phase) {
            return Ok(());
        }
        let index = self.position(reference).ok_or(PipelineError::UnknownPhase(reference))?;
        self.insert_at(index, phase, Relation::Before(reference))
    }

    /// Adds the phases of `other` that this list lacks, re-playing the relation each was added
    /// under. A phase whose reference is not here yet waits for a later pass; a pass that places
    /// nothing ends the merge with an error instead of looping.
    pub(crate) fn merge(&mut self, other: &PhaseList) -> Result<(), PipelineError> {
        let mut pending: heapless::Vec<(Phase, Relation), MAX_PHASES> =
            other.entries.iter().copied().filter(|(phase, _)| !self.contains(*phase)).collect();
        while !pending.is_empty() {
            let before = pending.len();
            let mut i = 0;
            while i < pending.len() {
                let (phase, relation) = pending[i];
                let placed = match relation {
                    Relation::Last => self.add(phase).map(|()| true)?,
                    Relation::Before(r) if self.contains(r) => {
                        self.insert_before(r, phase).map(|()| true)?
                    }
                    Relation::After(r) if self.contains(r) => {
                        self.insert_after(r, phase).map(|()| true)?
                    }
                    _ => false,
                };
                if placed {
                    pending.remove(i);
                } else {
                    i += 1;
                }
            }
            if pending.len() == before {
                let (phase, _) = pending[0];
                return Err(PipelineError::UnknownPhase(phase));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &PhaseList) -> heapless::Vec<&'static str, MAX_PHASES> {
        list.iter().map(|p| p.name()).collect()
    }

    #[test]
    fn setup_is_another_name_for_acquire() {
        assert_eq!(Phase::new("Setup"), Phase::ACQUIRE);
        assert_eq!(Phase::SETUP, Phase::ACQUIRE);
        assert_eq!(Phase::new("Setup").name(), "Acquire");
    }

    #[test]
    fn add_is_idempotent() {
        let mut list = PhaseList::default();
        list.add(Phase::new("Audit")).unwrap();
        list.add(Phase::new("Audit")).unwrap();
        list.add(Phase::PROCESS).unwrap();
        assert_eq!(
            names(&list).as_slice(),
            ["Acquire", "Monitoring", "Features", "Process", "Fallback", "Audit"]
        );
    }

    #[test]
    fn phases_inserted_after_one_reference_keep_insertion_order() {
        let mut list = PhaseList::default();
        list.insert_after(Phase::FEATURES, Phase::new("A")).unwrap();
        list.insert_after(Phase::FEATURES, Phase::new("B")).unwrap();
        list.insert_after(Phase::FEATURES, Phase::new("C")).unwrap();
        assert_eq!(
            names(&list).as_slice(),
            ["Acquire", "Monitoring", "Features", "A", "B", "C", "Process", "Fallback"]
        );
    }

    #[test]
    fn phases_inserted_before_one_reference_keep_insertion_order() {
        let mut list = PhaseList::default();
        list.insert_before(Phase::PROCESS, Phase::new("A")).unwrap();
        list.insert_before(Phase::PROCESS, Phase::new("B")).unwrap();
        assert_eq!(
            names(&list).as_slice(),
            ["Acquire", "Monitoring", "Features", "A", "B", "Process", "Fallback"]
        );
    }

    #[test]
    fn insert_after_goes_after_earlier_siblings_but_before_their_dependants() {
        // Ktor's rule looks only at phases inserted after the same reference: B lands after
        // its sibling A, and in front of A2, which was inserted after A.
        let mut list = PhaseList::default();
        list.insert_after(Phase::FEATURES, Phase::new("A")).unwrap();
        list.insert_after(Phase::new("A"), Phase::new("A2")).unwrap();
        list.insert_after(Phase::FEATURES, Phase::new("B")).unwrap();
        assert_eq!(
            names(&list).as_slice(),
            ["Acquire", "Monitoring", "Features", "A", "B", "A2", "Process", "Fallback"]
        );
    }

    #[test]
    fn unknown_reference_is_an_error_and_changes_nothing() {
        let mut list = PhaseList::default();
        let missing = Phase::new("Missing");
        assert_eq!(
            list.insert_after(missing, Phase::new("X")),
            Err(PipelineError::UnknownPhase(missing))
        );
        assert_eq!(
            list.insert_before(missing, Phase::new("X")),
            Err(PipelineError::UnknownPhase(missing))
        );
        assert_eq!(names(&list).len(), 5);
    }

    #[test]
    fn too_many_phases_is_an_error() {
        const NAMES: [&str; 12] = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];
        let mut list = PhaseList::default();
        for name in &NAMES[..MAX_PHASES - 5] {
            list.add(Phase::new(name)).unwrap();
        }
        assert_eq!(
            list.add(Phase::new("one-too-many")),
            Err(PipelineError::TooManyPhases { capacity: MAX_PHASES })
        );
    }

    #[test]
    fn merge_keeps_relative_order_of_both_lists() {
        let mut left = PhaseList::default();
        left.insert_after(Phase::FEATURES, Phase::new("Left")).unwrap();

        let mut right = PhaseList::default();
        right.insert_before(Phase::PROCESS, Phase::new("Right")).unwrap();
        right.insert_after(Phase::new("Right"), Phase::new("RightAfter")).unwrap();
        right.add(Phase::new("Tail")).unwrap();

        left.merge(&right).unwrap();
        assert_eq!(
            names(&left).as_slice(),
            [
                "Acquire",
                "Monitoring",
                "Features",
                "Left",
                "Right",
                "RightAfter",
                "Process",
                "Fallback",
                "Tail"
            ]
        );
    }

    #[test]
    fn merge_places_a_phase_whose_reference_comes_later_in_the_other_list() {
        // In `right`, "First" was inserted before "Second", which was added last; when merged
        // into a list that lacks both, "First" must wait until "Second" is placed.
        let mut right = PhaseList::empty();
        right.add(Phase::new("Second")).unwrap();
        right.insert_before(Phase::new("Second"), Phase::new("First")).unwrap();

        let mut left = PhaseList::empty();
        left.add(Phase::new("Zero")).unwrap();
        left.merge(&right).unwrap();
        assert_eq!(names(&left).as_slice(), ["Zero", "First", "Second"]);
    }
}
