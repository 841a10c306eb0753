//! Sources: turn a cluster (an offline dump; the live API in `serve`) into `Change`s.

pub mod dump;
