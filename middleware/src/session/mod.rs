//! The brake session: one client request, from the first upstream byte to
//! the last client byte, as a typed state machine:
//!
//! ```text
//! Thinking ──brake──▶ Braking ──continuation opens──▶ Answering ──▶ Done
//!    │                   └──no continuation / it fails──▶ Closing ──▶ Done
//!    └──upstream ends──▶ Done
//! ```
//!
//! Each state is a type with synchronous transitions (unit-tested beside
//! it); [`turns`] says what each phase does next and [`machine`] drives them with the two awaits the session has: the
//! next upstream event and the opening of the continuation. While thinking,
//! a probe the policy asks for runs beside the upstream stream ([`probe`]):
//! whichever answers first is handled first. It emits
//! [`SessionEvent`]s that the response encoders turn into what the client
//! sees.
mod answering;
mod braking;
mod event;
mod machine;
mod probe;
mod report;
mod thinking;
mod turns;
mod usage;

pub use event::{AnswerSource, BrakeReport, SessionEvent, Summary};
pub use machine::{start, SessionContext};
