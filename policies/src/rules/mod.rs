//! Overthinking rules, one file each.
mod budget;

pub use budget::Budget;
