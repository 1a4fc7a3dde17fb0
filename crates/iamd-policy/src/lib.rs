//! iamd-policy (skeleton; being built).
