//! iamd-iam (skeleton; being built).
