//! Sources: turn a cluster (an offline dump, or the live API) into `Change`s.

pub mod alertmanager;
pub mod dump;
pub mod live;
