//! The event that travels through a pipeline.
//!
//! An [`Event`] owns an input that never changes once created, an [`Attributes`] map that phases
//! enrich, a [`CorrelationId`], the [`Source`] that produced it and a failure state. Everything
//! has a fixed capacity, so an event needs no allocator and serialises with serde (postcard in
//! the durable log).

mod attributes;
pub(crate) mod source;

use core::fmt;

use serde::{Deserialize, Serialize};

pub use attributes::{AttributeError, Attributes, KEY_CAPACITY, Key, TEXT_CAPACITY, Value};
pub use source::{NAME_CAPACITY, PATH_CAPACITY, Source, TooLong};

use crate::failure::Failure;

/// A subject whose failure state the standard [interceptors](crate::interceptors) can read and
/// set. [`Event`] implements it; implement it for your own subject type to use the helpers.
pub trait Subject {
    /// The failure this subject was marked with, if any.
    fn failure(&self) -> Option<&Failure>;

    /// Marks the subject failed. The first failure is kept; later ones are ignored, so the
    /// reason that reaches Fallback is the root cause.
    fn mark_failed(&mut self, failure: Failure);

    /// Whether the subject was marked failed.
    fn is_failed(&self) -> bool {
        self.failure().is_some()
    }
}

/// A 128-bit id that follows an event and everything derived from it across stages and hosts.
///
/// The core does not generate ids (it has no randomness); hosts supply them, for example from a
/// random source or from the durable log's sequence number.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
pub struct CorrelationId(pub u128);

impl fmt::Display for CorrelationId {
    /// 32 lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// An event: an immutable input plus what the pipeline learns about it.
///
/// `A` is the attribute map's capacity (entries).
///
/// # Examples
///
/// ```
/// use plover_core::event::{Event, Source, Value};
///
/// let mut event: Event<u32> = Event::new(21).with_source(Source::Sensor { id: 7 });
/// event.attributes_mut().insert("unit", Value::text("celsius").unwrap()).unwrap();
/// assert_eq!(*event.input(), 21);
/// assert_eq!(event.attributes().get("unit").and_then(Value::as_text), Some("celsius"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event<T, const A: usize = 8> {
    input: T,
    attributes: Attributes<A>,
    correlation_id: CorrelationId,
    source: Source,
    failure: Option<Failure>,
}

impl<T, const A: usize> Event<T, A> {
    /// A new event around `input`, with no attributes, correlation id 0 and an unknown source.
    pub fn new(input: T) -> Self {
        Event {
            input,
            attributes: Attributes::new(),
            correlation_id: CorrelationId::default(),
            source: Source::Unknown,
            failure: None,
        }
    }

    /// A new event around `input` that came from `source`, with correlation id `id`: the same as
    /// `Event::new(input).with_correlation_id(id).with_source(source)`, built in one step, so
    /// that a large event is not moved from builder to builder.
    ///
    /// ```
    /// use plover_core::event::{CorrelationId, Event, Source};
    ///
    /// let built: Event<u32> = Event::new(7)
    ///     .with_correlation_id(CorrelationId(9))
    ///     .with_source(Source::Sensor { id: 2 });
    /// assert_eq!(Event::with_origin(7, CorrelationId(9), Source::Sensor { id: 2 }), built);
    /// ```
    pub fn with_origin(input: T, id: CorrelationId, source: Source) -> Self {
        Event { input, attributes: Attributes::new(), correlation_id: id, source, failure: None }
    }

    /// Sets the correlation id.
    pub fn with_correlation_id(mut self, id: CorrelationId) -> Self {
        self.correlation_id = id;
        self
    }

    /// Sets the source.
    pub fn with_source(mut self, source: Source) -> Self {
        self.source = source;
        self
    }

    /// The input, as it was created. There is no way to change it.
    pub fn input(&self) -> &T {
        &self.input
    }

    /// What phases have learned about the event.
    pub fn attributes(&self) -> &Attributes<A> {
        &self.attributes
    }

    /// The attribute map, for phases that enrich the event.
    pub fn attributes_mut(&mut self) -> &mut Attributes<A> {
        &mut self.attributes
    }

    /// The correlation id.
    pub fn correlation_id(&self) -> CorrelationId {
        self.correlation_id
    }

    /// What produced the event.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Takes the event apart, giving the input back.
    pub fn into_input(self) -> T {
        self.input
    }
}

impl<T, const A: usize> Subject for Event<T, A> {
    fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    fn mark_failed(&mut self, failure: Failure) {
        if self.failure.is_none() {
            self.failure = Some(failure);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::FailureKind;

    #[test]
    fn first_failure_is_kept() {
        let mut event: Event<()> = Event::new(());
        event.mark_failed(Failure::validation("first"));
        event.mark_failed(Failure::processing("second"));
        assert_eq!(event.failure().map(Failure::kind), Some(FailureKind::Validation));
        assert_eq!(event.failure().map(Failure::reason), Some("first"));
    }

    #[test]
    fn event_round_trips_through_postcard() {
        let mut event: Event<u64, 4> = Event::new(42)
            .with_correlation_id(CorrelationId(0xfeed))
            .with_source(Source::queue("orders", 3, 99).unwrap());
        event.attributes_mut().insert("n", Value::I64(-5)).unwrap();
        event.mark_failed(Failure::transient("offline"));

        let bytes = postcard::to_allocvec(&event).unwrap();
        let back: Event<u64, 4> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn correlation_id_displays_as_32_hex_digits() {
        let id = CorrelationId(0xab);
        let mut text = heapless::String::<40>::new();
        core::fmt::write(&mut text, format_args!("{id}")).unwrap();
        assert_eq!(text.as_str(), "000000000000000000000000000000ab");
    }
}
