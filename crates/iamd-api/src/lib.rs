//! iamd-api (skeleton; being built).
