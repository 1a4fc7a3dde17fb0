//! iamd-s3 (skeleton; being built): the S3 API over files, guarded by IAM decisions.
