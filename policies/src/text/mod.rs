//! Text machinery shared by the rules: segmentation, answers, markers.
pub mod answer;
pub mod braces;
mod latex;
pub mod markers;
pub mod normalize;
mod number;
pub mod question;
pub mod scanner;
mod statement;

pub use answer::{AnswerExtractor, Candidate, Strength};
pub use braces::{balanced, last_boxed};
pub use markers::{MarkerHit, MarkerMatcher, MARKERS};
pub use normalize::{normalize, same_answer};
pub use question::Question;
pub use scanner::{Event, Scanner};
pub use statement::answer_statement;
