//! selfbrake
