//! iamd-sigv4 (skeleton; being built).
