//! Interceptors, and the two ways the pipeline runs them with Ktor's nesting without boxing.
//!
//! Ktor's `proceed` is a recursive call; Rust cannot await a recursive call without a box. The
//! chain of interceptors is instead a type-level list ([`Link`] by [`Link`], registration
//! order), and [`Call::proceed`] only raises a flag and returns `Pending`: whoever polls the
//! interceptor sees the flag, runs the rest of the pipeline, then polls the interceptor again
//! with the result. Two drivers do that:
//!
//! - *In-order walk* ([`Walk`], `LinkWalk`), when execution order is registration order
//!   (interceptors registered phase by phase, the common case): each link runs its own
//!   interceptor and polls the rest of the list inside it when it proceeds, or after it when it
//!   returns. The nesting follows the list's type, so no dispatch is needed. The walk of every
//!   link is built up front and set back ([`Walk::rewind`]) when a link must run the rest
//!   again; the link and the call are passed to each poll rather than stored per link; and a
//!   link's first poll is inlined into the link before it with its state known, while later
//!   polls go through one out-of-line copy.
//! - *Levels* (`poll_levels`), for any order: interceptors are started one after the other in
//!   execution order, each in its own slot of the same walk (found by index, [`Slots`]); when
//!   one waits in `proceed`, it stays in its slot and the next starts, one level deeper. When a
//!   level ends (nothing left to start, or a failure), the waiting interceptor that started
//!   last gets the outcome and is polled again. One loop does this, without nesting futures,
//!   so an execution is no larger for an order that differs from registration order.
//!
//! Either way the whole execution is one future of fixed size. The cursor that says which
//! interceptor starts next is shared, which is what makes failure "fail forward": when an
//! interceptor fails, the failure travels out; an interceptor that catches it and returns `Ok`
//! lets execution go on from the shared cursor, i.e. right after the interceptor that failed.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::call::{Call, Flow, Parked};
use crate::failure::Failure;

/// An async interceptor of subjects `S`.
///
/// Implement it for reusable interceptors; for one-off closures use
/// [`Pipeline::intercept_fn`](super::Pipeline::intercept_fn).
///
/// # Contract
///
/// - Returning `Ok(())` without calling [`Call::proceed`] lets execution go on with the next
///   interceptor. Only [`Call::finish`] stops it.
/// - Returning `Err` is a failure: it travels out through the interceptors waiting in
///   `proceed`, and ends the execution unless one of them recovers.
/// - Being dropped before completion is cancellation, never a failure: nothing is recorded.
///
/// ```
/// use plover_core::{Call, Failure, Interceptor};
///
/// /// Counts the events that reach it.
/// struct Count(core::sync::atomic::AtomicU32);
///
/// impl<S> Interceptor<S> for Count {
///     async fn intercept(&self, _call: &Call<S>) -> Result<(), Failure> {
///         self.0.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
///         Ok(())
///     }
/// }
/// ```
pub trait Interceptor<S> {
    /// Handles one execution.
    fn intercept(&self, call: &Call<S>) -> impl Future<Output = Result<(), Failure>>;
}

impl<S, I: Interceptor<S> + ?Sized> Interceptor<S> for &I {
    fn intercept(&self, call: &Call<S>) -> impl Future<Output = Result<(), Failure>> {
        (**self).intercept(call)
    }
}

/// An async closure as an interceptor; made by
/// [`Pipeline::intercept_fn`](super::Pipeline::intercept_fn).
#[derive(Clone, Copy)]
pub struct FnInterceptor<F>(pub F);

impl<S, F> Interceptor<S> for FnInterceptor<F>
where
    F: AsyncFn(&Call<S>) -> Result<(), Failure>,
{
    fn intercept(&self, call: &Call<S>) -> impl Future<Output = Result<(), Failure>> {
        (self.0)(call)
    }
}

/// The interceptors of a pipeline, indexed in registration order.
///
/// Implemented by `()` (no interceptors), by [`Link`] (one interceptor followed by a chain)
/// and, with the `alloc` feature, by `DynChain`. You do not implement it yourself.
pub trait Chain<S> {
    /// Number of interceptors.
    fn len(&self) -> usize;

    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The walk over the chain: the in-order walk, and a slot per interceptor for the level
    /// driver (see the module docs); `order` is only for chains that cannot walk themselves.
    #[doc(hidden)]
    fn walk<'a>(&'a self, order: &'a [u8], call: &'a Call<S>) -> impl Walk<'a, Self, S>;
}

/// One slot per interceptor of a chain `C`, in which the level driver starts and polls the
/// interceptor registered `index`-th (counted from this part of the chain).
#[doc(hidden)]
pub trait Slots<'a, C: ?Sized, S> {
    /// Starts the interceptor in its slot.
    fn start_at(self: Pin<&mut Self>, chain: &'a C, call: &'a Call<S>, index: usize);

    /// Polls the interceptor in its slot once; its future is dropped when it returns.
    fn poll_at(
        self: Pin<&mut Self>,
        call: &'a Call<S>,
        index: usize,
        cx: &mut Context<'_>,
    ) -> Poll<Step>;

    /// Whether the slot holds an interceptor that started and has not returned.
    fn is_live(&self, index: usize) -> bool;
}

/// The state of the in-order walk over a chain `C`, polled with the chain and the call passed
/// in rather than stored, so that each link's part holds only its own state. Its slots serve
/// the level driver.
#[doc(hidden)]
pub trait Walk<'a, C: ?Sized, S>: Slots<'a, C, S> {
    /// Polls the walk on; `chain` and `call` are the ones it was built for. `fresh` says that
    /// the caller knows the walk has not been polled since it was built or rewound.
    fn poll_walk(
        self: Pin<&mut Self>,
        chain: &'a C,
        call: &'a Call<S>,
        cx: &mut Context<'_>,
        fresh: bool,
    ) -> Poll<Flow>;

    /// Drops whatever the walk has started and puts it back to where it was when built, so
    /// that a link can run the rest of the chain again (after a failure an interceptor
    /// recovered from) without building it anew.
    fn rewind(self: Pin<&mut Self>);
}

pin_project_lite::pin_project! {
    /// The whole chain walked in order, as a future.
    pub(crate) struct InOrder<'a, C, S, W> {
        chain: &'a C,
        call: &'a Call<S>,
        #[pin]
        walk: W,
    }
}

/// The in-order walk over `chain` for `call`, as a future.
#[inline]
pub(crate) fn in_order<'a, C: Chain<S>, S>(
    chain: &'a C,
    order: &'a [u8],
    call: &'a Call<S>,
) -> InOrder<'a, C, S, impl Walk<'a, C, S>> {
    InOrder { chain, call, walk: chain.walk(order, call) }
}

impl<'a, C, S, W: Walk<'a, C, S>> Future for InOrder<'a, C, S, W> {
    type Output = Flow;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Flow> {
        let this = self.project();
        this.walk.poll_walk(this.chain, this.call, cx, false)
    }
}

pin_project_lite::pin_project! {
    /// The level driver over the whole chain, as a future: the same walk, used for its slots.
    pub(crate) struct ByLevels<'a, C, S, W> {
        chain: &'a C,
        order: &'a [u8],
        call: &'a Call<S>,
        levels: Levels,
        #[pin]
        walk: W,
    }
}

/// The level driver over `chain` for `call`, in execution order `order`, as a future.
pub(crate) fn by_levels<'a, C: Chain<S>, S>(
    chain: &'a C,
    order: &'a [u8],
    call: &'a Call<S>,
) -> ByLevels<'a, C, S, impl Walk<'a, C, S>> {
    ByLevels { chain, order, call, levels: Levels::default(), walk: chain.walk(order, call) }
}

impl<'a, C, S, W: Walk<'a, C, S>> Future for ByLevels<'a, C, S, W> {
    type Output = Flow;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Flow> {
        let this = self.project();
        poll_levels(this.walk, this.levels, *this.chain, this.order, this.call, 0, cx)
    }
}

/// One interceptor followed by the chain of those registered after it.
pub struct Link<I, R>(pub(crate) I, pub(crate) R);

impl<S> Chain<S> for () {
    fn len(&self) -> usize {
        0
    }

    fn walk<'a>(&'a self, _order: &'a [u8], _call: &'a Call<S>) -> impl Walk<'a, Self, S> {
        EndOfChain
    }
}

impl<S, I: Interceptor<S>, R: Chain<S>> Chain<S> for Link<I, R> {
    #[inline]
    fn len(&self) -> usize {
        self.1.len() + 1
    }

    #[inline]
    fn walk<'a>(&'a self, order: &'a [u8], call: &'a Call<S>) -> impl Walk<'a, Self, S> {
        LinkWalk {
            // Zero-sized: it only gives the struct the type of the interceptor's future.
            make_head: |link: &'a Self, call: &'a Call<S>| link.0.intercept(call),
            state: LinkState::Start,
            head: None,
            rest: self.1.walk(order, call),
        }
    }
}

/// The in-order walk past the last link: nothing to run.
struct EndOfChain;

impl<'a, S> Slots<'a, (), S> for EndOfChain {
    fn start_at(self: Pin<&mut Self>, _chain: &'a (), _call: &'a Call<S>, _index: usize) {}

    fn poll_at(
        self: Pin<&mut Self>,
        call: &'a Call<S>,
        _index: usize,
        _cx: &mut Context<'_>,
    ) -> Poll<Step> {
        // Cannot happen: the layout only holds indexes of registered interceptors.
        let _ = call.fail(Failure::internal("no interceptor at this index"));
        Poll::Ready(Step::Failed)
    }

    fn is_live(&self, _index: usize) -> bool {
        false
    }
}

impl<'a, S> Walk<'a, (), S> for EndOfChain {
    #[inline(always)]
    fn poll_walk(
        self: Pin<&mut Self>,
        _chain: &'a (),
        _call: &'a Call<S>,
        _cx: &mut Context<'_>,
        _fresh: bool,
    ) -> Poll<Flow> {
        Poll::Ready(Ok(()))
    }

    #[inline(always)]
    fn rewind(self: Pin<&mut Self>) {}
}

/// Where the in-order walk over one link stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LinkState {
    /// Not polled since it was built or rewound.
    Start,
    /// The link's interceptor runs.
    Head,
    /// The interceptor waits in `proceed` while the rest of the chain runs inside it.
    Nested,
    /// The interceptor is done or was skipped; the rest of the chain is not started yet.
    HeadDone,
    /// The rest of the chain runs after the interceptor.
    After,
    /// The output was returned.
    Done,
}

pin_project_lite::pin_project! {
    /// The in-order walk over one link: run its interceptor if the cursor is at it, with the
    /// rest of the chain nested inside whenever it waits in `proceed`, then the rest after it.
    ///
    /// Built with the walks of every link after it already in place (each waits in `Start`,
    /// which costs a store or two), so that moving on to the rest builds nothing; the link and
    /// the call come in as arguments, so nothing else is stored per link. The first poll,
    /// which for an interceptor that does not wait is the only one, runs straight through:
    /// claim, start and poll the interceptor, poll the rest. A rest that already ran (inside
    /// the interceptor, before it recovered from a failure) is rewound before it runs again.
    struct LinkWalk<H, F, G> {
        make_head: H,
        state: LinkState,
        #[pin]
        head: Option<F>,
        #[pin]
        rest: G,
    }
}

impl<H, F, G> LinkWalk<H, F, G> {
    /// Moves the walk on from `state`, which is where it stands.
    #[inline]
    fn run<'a, S, I, R>(
        self: Pin<&mut Self>,
        link: &'a Link<I, R>,
        call: &'a Call<S>,
        cx: &mut Context<'_>,
        mut state: LinkState,
    ) -> Poll<Flow>
    where
        S: 'a,
        I: 'a,
        R: Chain<S> + 'a,
        H: Fn(&'a Link<I, R>, &'a Call<S>) -> F,
        F: Future<Output = Result<(), Failure>>,
        G: Walk<'a, R, S>,
    {
        let mut this = self.project();
        // Whether the rest may have run already: not on a first poll until the interceptor
        // proceeds. Until then the rest needs neither a rewind nor the "nothing left" check
        // (which only saves walking links whose claims would fail), and on the common path
        // the compiler drops both.
        let mut rest_ran = state != LinkState::Start;
        // Whether the rest stands at its start: on a first poll it does (a walk that never
        // waited stores no state, see below, and a wait downstream passes through here), and
        // after a rewind. Saying so lets its poll skip reading its state.
        let mut fresh = !rest_ran;
        // The state is kept in a local while the walk moves on, and stored once when the poll
        // returns; the checks follow the order in which a link moves on, so the first poll
        // falls through them and only a recovered `proceed` goes round again.
        let output = loop {
            if state == LinkState::Start {
                // A link the cursor has passed already ran, before a failure that an enclosing
                // interceptor recovered from: it is skipped, and so is everything after
                // `finish`.
                state = if call.claim(link.1.len()) {
                    // A request to proceed is taken only from the interceptor that made it: one
                    // left by an interceptor that dropped its `proceed` unawaited is cleared
                    // before the next starts, and before an interceptor is polled again after
                    // downstream ran. Between its own polls nothing else can raise it.
                    call.clear_proceed_request();
                    this.head.set(Some((this.make_head)(link, call)));
                    LinkState::Head
                } else {
                    LinkState::HeadDone
                };
            }
            if state == LinkState::Head {
                let Some(head) = this.head.as_mut().as_pin_mut() else {
                    state = LinkState::Done;
                    break Poll::Ready(call.fail(Failure::internal("interceptor lost")));
                };
                match poll_step(head, cx, call) {
                    Poll::Pending => break Poll::Pending,
                    Poll::Ready(Step::Done) => state = LinkState::HeadDone,
                    Poll::Ready(Step::Failed) => {
                        state = LinkState::Done;
                        break Poll::Ready(Err(Parked));
                    }
                    Poll::Ready(Step::Proceed) => {
                        this.rest.as_mut().rewind();
                        rest_ran = true;
                        fresh = true;
                        state = LinkState::Nested;
                    }
                }
            }
            if state == LinkState::HeadDone {
                // Nothing is left when the cursor is at the end: the rest ran to its end inside
                // the interceptor, or the call is finished. Otherwise the rest goes on from the
                // cursor, which after a recovered failure is past the interceptor that failed.
                if rest_ran {
                    if call.is_done() {
                        state = LinkState::Done;
                        break Poll::Ready(Ok(()));
                    }
                    this.rest.as_mut().rewind();
                    fresh = true;
                }
                state = LinkState::After;
            }
            // One place polls the rest, inside the interceptor or after it: the rest's poll is
            // inlined here, so a second call site would double the code at every level.
            if state == LinkState::Nested || state == LinkState::After {
                let downstream = match this.rest.as_mut().poll_walk(&link.1, call, cx, fresh) {
                    Poll::Ready(downstream) => downstream,
                    Poll::Pending => break Poll::Pending,
                };
                if state == LinkState::After {
                    state = LinkState::Done;
                    break Poll::Ready(downstream);
                }
                call.deliver(downstream);
                call.clear_proceed_request();
                fresh = false;
                state = LinkState::Head;
                continue;
            }
            // Polled again after it returned.
            break Poll::Ready(Ok(()));
        };
        // Only a walk that waits needs its state back. One that returned is polled again only
        // after a rewind, and a state left at `Start` by a walk that never waited is rewound
        // correctly: starting over replaces the head, and nothing after it has waited either
        // (a wait anywhere downstream passes through this link, which then stored its state).
        if output.is_pending() {
            *this.state = state;
        }
        output
    }

    /// Polls a walk that has started: out of line, so that only the first poll, whose state
    /// the compiler then knows, is inlined into the link before.
    #[inline(never)]
    fn poll_started<'a, S, I, R>(
        self: Pin<&mut Self>,
        link: &'a Link<I, R>,
        call: &'a Call<S>,
        cx: &mut Context<'_>,
    ) -> Poll<Flow>
    where
        S: 'a,
        I: 'a,
        R: Chain<S> + 'a,
        H: Fn(&'a Link<I, R>, &'a Call<S>) -> F,
        F: Future<Output = Result<(), Failure>>,
        G: Walk<'a, R, S>,
    {
        let state = self.state;
        self.run(link, call, cx, state)
    }
}

impl<'a, S: 'a, I: 'a, R: 'a, H, F, G> Slots<'a, Link<I, R>, S> for LinkWalk<H, F, G>
where
    R: Chain<S>,
    H: Fn(&'a Link<I, R>, &'a Call<S>) -> F,
    F: Future<Output = Result<(), Failure>>,
    G: Walk<'a, R, S>,
{
    fn start_at(self: Pin<&mut Self>, link: &'a Link<I, R>, call: &'a Call<S>, index: usize) {
        let mut this = self.project();
        if index == 0 {
            this.head.set(Some((this.make_head)(link, call)));
        } else {
            this.rest.start_at(&link.1, call, index - 1);
        }
    }

    fn poll_at(
        self: Pin<&mut Self>,
        call: &'a Call<S>,
        index: usize,
        cx: &mut Context<'_>,
    ) -> Poll<Step> {
        let this = self.project();
        if index != 0 {
            return this.rest.poll_at(call, index - 1, cx);
        }
        poll_slot(this.head, cx, call)
    }

    fn is_live(&self, index: usize) -> bool {
        if index == 0 { self.head.is_some() } else { self.rest.is_live(index - 1) }
    }
}

impl<'a, S: 'a, I: 'a, R: 'a, H, F, G> Walk<'a, Link<I, R>, S> for LinkWalk<H, F, G>
where
    R: Chain<S>,
    H: Fn(&'a Link<I, R>, &'a Call<S>) -> F,
    F: Future<Output = Result<(), Failure>>,
    G: Walk<'a, R, S>,
{
    #[inline]
    fn poll_walk(
        self: Pin<&mut Self>,
        link: &'a Link<I, R>,
        call: &'a Call<S>,
        cx: &mut Context<'_>,
        fresh: bool,
    ) -> Poll<Flow> {
        if fresh || self.state == LinkState::Start {
            self.run(link, call, cx, LinkState::Start)
        } else {
            self.poll_started(link, call, cx)
        }
    }

    #[inline]
    fn rewind(self: Pin<&mut Self>) {
        let mut this = self.project();
        if *this.state != LinkState::Start {
            this.head.set(None);
            this.rest.as_mut().rewind();
            *this.state = LinkState::Start;
        }
    }
}

/// Polls an interceptor's future once and says what came of it; a failure is parked in the
/// call, so that the common path never moves a whole `Failure` around.
#[inline]
fn poll_step<F: Future<Output = Result<(), Failure>>, S>(
    future: Pin<&mut F>,
    cx: &mut Context<'_>,
    call: &Call<S>,
) -> Poll<Step> {
    match future.poll(cx) {
        Poll::Ready(Ok(())) => Poll::Ready(Step::Done),
        Poll::Ready(Err(failure)) => {
            let _ = call.fail(failure);
            Poll::Ready(Step::Failed)
        }
        Poll::Pending if call.take_proceed_request() => Poll::Ready(Step::Proceed),
        Poll::Pending => Poll::Pending,
    }
}

/// Polls the interceptor in a level-driver slot once ([`poll_step`]) and empties the slot when
/// the interceptor returns, so that only waiting or running interceptors are live.
pub(crate) fn poll_slot<F: Future<Output = Result<(), Failure>>, S>(
    mut slot: Pin<&mut Option<F>>,
    cx: &mut Context<'_>,
    call: &Call<S>,
) -> Poll<Step> {
    let Some(future) = slot.as_mut().as_pin_mut() else {
        // Cannot happen: the driver polls only slots it started and that have not returned.
        let _ = call.fail(Failure::internal("interceptor lost"));
        return Poll::Ready(Step::Failed);
    };
    let step = poll_step(future, cx, call);
    if let Poll::Ready(Step::Done | Step::Failed) = step {
        slot.set(None);
    }
    step
}

/// Adds one interceptor at the end of a chain; [`Pipeline::intercept`](super::Pipeline::intercept)
/// uses it.
pub trait PushBack<I> {
    /// The longer chain.
    type Output;

    /// `self` followed by `interceptor`.
    fn push_back(self, interceptor: I) -> Self::Output;
}

impl<I> PushBack<I> for () {
    type Output = Link<I, ()>;

    fn push_back(self, interceptor: I) -> Self::Output {
        Link(interceptor, ())
    }
}

impl<I, H, R: PushBack<I>> PushBack<I> for Link<H, R> {
    type Output = Link<H, R::Output>;

    fn push_back(self, interceptor: I) -> Self::Output {
        Link(self.0, self.1.push_back(interceptor))
    }
}

/// Puts a chain after another; [`Pipeline::merge`](super::Pipeline::merge) uses it.
pub trait Concat<B> {
    /// The combined chain.
    type Output;

    /// `self`'s interceptors, then `after`'s.
    fn concat(self, after: B) -> Self::Output;
}

impl<B> Concat<B> for () {
    type Output = B;

    fn concat(self, after: B) -> B {
        after
    }
}

impl<B, H, R: Concat<B>> Concat<B> for Link<H, R> {
    type Output = Link<H, R::Output>;

    fn concat(self, after: B) -> Self::Output {
        Link(self.0, self.1.concat(after))
    }
}

/// What polling an interceptor once led to.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub enum Step {
    /// It returned `Ok`.
    Done,
    /// It returned `Err`.
    Failed,
    /// It waits in `proceed` for downstream to run.
    Proceed,
}

/// Where the level driver stands: the interceptor it runs at the innermost level, if one is
/// running (by registration index); every other started interceptor waits in `proceed`.
#[derive(Default)]
pub(crate) struct Levels {
    current: Option<usize>,
    /// How many interceptors wait in `proceed`: when none does, a level that ends is the last,
    /// and no search for the innermost one is needed.
    waiting: usize,
}

/// The level driver: runs the interceptors of `slots` (registration indexes `base` and on) in
/// execution order `order`, from the call's cursor, until none is left to start and none of
/// them waits, or a failure leaves them.
///
/// An interceptor that proceeds stays in its slot, and the driver goes on one level deeper
/// with the next. When a level ends, with `Ok` when nothing is left to start or with the
/// failure that left it, the interceptor that waits innermost gets that outcome and is polled
/// again; it is the live one that started last, since a deeper level always starts after the
/// one around it. Recovering from a failure lets execution go on from the shared cursor,
/// after the interceptor that failed.
pub(crate) fn poll_levels<'a, C: ?Sized, S, W: Slots<'a, C, S>>(
    mut slots: Pin<&mut W>,
    levels: &mut Levels,
    chain: &'a C,
    order: &[u8],
    call: &'a Call<S>,
    base: usize,
    cx: &mut Context<'_>,
) -> Poll<Flow> {
    // How the innermost level ended, when it just did.
    let mut ended = None;
    loop {
        let next = match (ended.take(), levels.current) {
            (Some(flow), _) => Err(flow),
            (None, Some(index)) => Ok(index),
            (None, None) => match call.advance() {
                None => Err(Ok(())),
                Some(position) => match order.get(position).map(|&index| usize::from(index)) {
                    Some(index) if index >= base => {
                        call.clear_proceed_request();
                        slots.as_mut().start_at(chain, call, index - base);
                        Ok(index)
                    }
                    _ => {
                        Err(call.fail(Failure::internal("execution order does not fit the chain")))
                    }
                },
            },
        };
        let index = match next {
            Ok(index) => index,
            Err(flow) => match innermost_waiting(&*slots, levels, order, call, base) {
                Some(index) => {
                    levels.waiting -= 1;
                    call.deliver(flow);
                    call.clear_proceed_request();
                    index
                }
                None => {
                    levels.current = None;
                    return Poll::Ready(flow);
                }
            },
        };
        levels.current = Some(index);
        match slots.as_mut().poll_at(call, index - base, cx) {
            Poll::Pending => return Poll::Pending,
            // The next interceptor starts at this level.
            Poll::Ready(Step::Done) => levels.current = None,
            // The next interceptor starts one level deeper.
            Poll::Ready(Step::Proceed) => {
                levels.current = None;
                levels.waiting += 1;
            }
            // The level ends with the failure, which is parked in the call.
            Poll::Ready(Step::Failed) => {
                levels.current = None;
                ended = Some(Err(Parked));
            }
        }
    }
}

/// The interceptor of `slots` that waits innermost: the live one that started last.
fn innermost_waiting<'a, C: ?Sized, S, W: Slots<'a, C, S>>(
    slots: &W,
    levels: &Levels,
    order: &[u8],
    call: &Call<S>,
    base: usize,
) -> Option<usize> {
    if levels.waiting == 0 {
        return None;
    }
    let started = order.get(..call.started()).unwrap_or(order);
    started
        .iter()
        .rev()
        .map(|&index| usize::from(index))
        .find(|&index| index >= base && slots.is_live(index - base))
}
