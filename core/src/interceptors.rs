//! Ready-made interceptors for the usual layering of a pipeline.
//!
//! [`monitoring`] wraps everything downstream, times it and turns a failure into a failed
//! subject that goes on to Fallback; [`validate`] and [`enrich`] belong in Features; [`process`]
//! and [`retry`] do the work and skip subjects already failed; [`on_success`] and [`on_failure`]
//! observe the final outcome. They work on any [`Subject`], [`Event`](crate::event::Event)
//! among them.

use core::time::Duration;

use crate::event::Subject;
use crate::failure::{Failure, FailureKind};
use crate::pipeline::{Call, Interceptor};
use crate::time::{Clock, Timer};

/// See [`monitoring`].
pub struct Monitoring<C, F> {
    clock: C,
    report: F,
}

/// Times everything downstream and catches its failures.
///
/// A failure from downstream marks the subject failed ([`Subject::mark_failed`]) and is not
/// passed on: execution goes on after the interceptor that failed, so the failed subject still
/// reaches Fallback. When downstream is done, `report` sees the subject and the time it took.
/// Register it in [`Phase::MONITORING`](crate::Phase::MONITORING).
pub fn monitoring<S, C, F>(clock: C, report: F) -> Monitoring<C, F>
where
    S: Subject,
    C: Clock,
    F: Fn(&S, Duration),
{
    Monitoring { clock, report }
}

impl<S, C, F> Interceptor<S> for Monitoring<C, F>
where
    S: Subject,
    C: Clock,
    F: Fn(&S, Duration),
{
    async fn intercept(&self, call: &Call<S>) -> Result<(), Failure> {
        let started = self.clock.now();
        if let Err(failure) = call.proceed().await {
            call.with_subject_mut(|subject| subject.mark_failed(failure));
        }
        let elapsed = self.clock.now().saturating_sub(started);
        call.with_subject(|subject| (self.report)(subject, elapsed));
        Ok(())
    }
}

/// See [`validate`].
pub struct Validate<F>(F);

/// Checks the subject; a check that fails is a failure (usually of
/// [`FailureKind::Validation`]) that travels outward, so [`monitoring`] marks the subject
/// failed, [`process`] skips it and Fallback sees it. Subjects already failed are not checked.
pub fn validate<S, F>(check: F) -> Validate<F>
where
    S: Subject,
    F: Fn(&S) -> Result<(), Failure>,
{
    Validate(check)
}

impl<S: Subject, F: Fn(&S) -> Result<(), Failure>> Interceptor<S> for Validate<F> {
    async fn intercept(&self, call: &Call<S>) -> Result<(), Failure> {
        call.with_subject(|subject| if subject.is_failed() { Ok(()) } else { (self.0)(subject) })
    }
}

/// See [`enrich`].
pub struct Enrich<F>(F);

/// Adds what is known about the subject (attributes, timestamps). Runs on failed subjects too,
/// so that a dead-lettered event carries the same context as a processed one. An error is a
/// failure that travels outward.
pub fn enrich<S, F>(f: F) -> Enrich<F>
where
    F: Fn(&mut S) -> Result<(), Failure>,
{
    Enrich(f)
}

impl<S, F: Fn(&mut S) -> Result<(), Failure>> Interceptor<S> for Enrich<F> {
    async fn intercept(&self, call: &Call<S>) -> Result<(), Failure> {
        call.with_subject_mut(|subject| (self.0)(subject))
    }
}

/// See [`process`].
pub struct Process<F>(F);

/// Does the work on subjects that have not failed; failed subjects pass untouched.
///
/// `work` has the subject to itself until it returns, so it must not be an interceptor that
/// proceeds. An error is a failure that travels outward.
pub fn process<S, F>(work: F) -> Process<F>
where
    S: Subject,
    F: AsyncFn(&mut S) -> Result<(), Failure>,
{
    Process(work)
}

impl<S, F> Interceptor<S> for Process<F>
where
    S: Subject,
    F: AsyncFn(&mut S) -> Result<(), Failure>,
{
    async fn intercept(&self, call: &Call<S>) -> Result<(), Failure> {
        let mut subject = call.lock_subject();
        if subject.is_failed() {
            return Ok(());
        }
        (self.0)(&mut subject).await
    }
}

/// When and how often [`retry`] tries again.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; at least 1.
    pub attempts: u32,
    /// Wait before the second attempt; each later wait doubles, up to `max_backoff`.
    pub initial_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
    /// Which failure kinds are worth another attempt.
    pub retry_on: fn(&Failure) -> bool,
}

impl RetryPolicy {
    /// `attempts` attempts, waits from 10 ms doubling up to 1 s, retrying
    /// [`FailureKind::Transient`] and [`FailureKind::Timeout`] failures.
    pub const fn new(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            attempts,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_secs(1),
            retry_on: |failure| {
                matches!(failure.kind(), FailureKind::Transient | FailureKind::Timeout)
            },
        }
    }

    /// The wait after the `failed`-th failed attempt (1-based): `initial_backoff * 2^(failed-1)`,
    /// capped at `max_backoff`.
    pub fn backoff(&self, failed: u32) -> Duration {
        let doublings = failed.saturating_sub(1).min(31);
        self.initial_backoff.saturating_mul(1 << doublings).min(self.max_backoff)
    }
}

/// See [`retry`].
pub struct Retry<T, F> {
    policy: RetryPolicy,
    timer: T,
    work: F,
}

/// Like [`process`], but tries `work` again after failures that `policy` deems worth it,
/// waiting with exponential backoff on `timer` between attempts. After the last attempt the
/// last failure travels outward (so [`monitoring`] marks the subject with it and Fallback sees
/// it). Failed subjects are skipped.
pub fn retry<S, T, F>(policy: RetryPolicy, timer: T, work: F) -> Retry<T, F>
where
    S: Subject,
    T: Timer,
    F: AsyncFn(&mut S) -> Result<(), Failure>,
{
    Retry { policy, timer, work }
}

impl<S, T, F> Interceptor<S> for Retry<T, F>
where
    S: Subject,
    T: Timer,
    F: AsyncFn(&mut S) -> Result<(), Failure>,
{
    async fn intercept(&self, call: &Call<S>) -> Result<(), Failure> {
        let mut subject = call.lock_subject();
        if subject.is_failed() {
            return Ok(());
        }
        let mut failed = 0;
        loop {
            match (self.work)(&mut subject).await {
                Ok(()) => return Ok(()),
                Err(failure) => {
                    failed += 1;
                    if failed >= self.policy.attempts || !(self.policy.retry_on)(&failure) {
                        return Err(failure);
                    }
                    self.timer.sleep(self.policy.backoff(failed)).await;
                }
            }
        }
    }
}

/// See [`on_success`].
pub struct OnSuccess<F>(F);

/// Runs `f` once everything downstream is done, if the subject did not fail.
///
/// [`on_success`] and [`on_failure`] look at the same outcome and cannot change it (they only
/// read the subject), so registered in the same phase, exactly one of them runs. Register them
/// outside [`monitoring`] (in Acquire) to see the outcome monitoring settled.
pub fn on_success<S, F>(f: F) -> OnSuccess<F>
where
    S: Subject,
    F: Fn(&S),
{
    OnSuccess(f)
}

impl<S: Subject, F: Fn(&S)> Interceptor<S> for OnSuccess<F> {
    async fn intercept(&self, call: &Call<S>) -> Result<(), Failure> {
        let result = call.proceed().await;
        if result.is_ok() {
            call.with_subject(|subject| {
                if !subject.is_failed() {
                    (self.0)(subject)
                }
            });
        }
        result
    }
}

/// See [`on_failure`].
pub struct OnFailure<F>(F);

/// Runs `f` once everything downstream is done, if the subject failed or a failure is still
/// travelling outward; `f` sees that failure. The failure, if any, goes on travelling.
/// See [`on_success`] for how the two relate.
pub fn on_failure<S, F>(f: F) -> OnFailure<F>
where
    S: Subject,
    F: Fn(&S, &Failure),
{
    OnFailure(f)
}

impl<S: Subject, F: Fn(&S, &Failure)> Interceptor<S> for OnFailure<F> {
    async fn intercept(&self, call: &Call<S>) -> Result<(), Failure> {
        let result = call.proceed().await;
        call.with_subject(|subject| match (&result, subject.failure()) {
            (Err(failure), _) | (Ok(()), Some(failure)) => (self.0)(subject, failure),
            (Ok(()), None) => {}
        });
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            ..RetryPolicy::new(10)
        };
        let waits: [u64; 5] =
            core::array::from_fn(|i| policy.backoff(i as u32 + 1).as_millis() as u64);
        assert_eq!(waits, [10, 20, 40, 50, 50]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_millis(50));
    }
}
