//! The real-time service (being written).
