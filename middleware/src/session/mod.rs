//! The brake session: one client request, from the first upstream byte to the
//! last client byte. It moves Thinking → Braking → Answering → Done and emits
//! [`SessionEvent`]s that the response encoders turn into what the client sees.
mod drive;
mod event;
mod usage;

pub use drive::{start, SessionContext};
pub use event::{AnswerSource, BrakeReport, SessionEvent, Summary};
