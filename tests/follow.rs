//! Following files: growth, rotation, truncation.
