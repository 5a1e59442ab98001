//! One module per command: each parses nothing (clap did), calls the
//! libraries, prints, and returns the exit status.

pub mod check;
pub mod emit;
pub mod fmt;
pub mod run;
pub mod test;
pub mod trace;
