//! Embedded SQLite storage (being written).
