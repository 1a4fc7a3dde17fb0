#!/usr/bin/env python3
"""Writes src/actions.rs: the known IAM, STS and S3 action names for the lint's
unknown-action check.

Sources:
- IAM and STS: the operation names of botocore's service models (the installed botocore,
  `iam/2010-05-08` and `sts/2011-06-15`), plus the permission-only actions of the Service
  Authorization Reference (SAR) pages "Actions defined by AWS Identity and Access
  Management" / "by AWS Security Token Service" (iam:PassRole, sts:TagSession, ...).
- S3: written down from the SAR page "Actions, resources, and condition keys for Amazon S3"
  (not derivable from botocore: S3 permissions differ from S3 API operation names); see S3
  below. Unlisted S3 actions only produce a WARNING.
"""
import gzip
import json
import os

import botocore

BOTO = os.path.join(os.path.dirname(botocore.__file__), "data")


def ops(service, version):
    with gzip.open(os.path.join(BOTO, service, version, "service-2.json.gz")) as f:
        return sorted(json.load(f)["operations"])


IAM_EXTRA = ["PassRole", "CreateServiceLinkedRole", "GetAccountEmailAddress", "GetAccountName",
             "GetCloudFrontPublicKey", "ListCloudFrontPublicKeys", "UpdateCloudFrontPublicKey",
             "DeleteCloudFrontPublicKey", "UploadCloudFrontPublicKey"]
STS_EXTRA = ["TagSession", "SetSourceIdentity", "SetContext", "GetServiceBearerToken"]

S3 = """AbortMultipartUpload AssociateAccessGrantsIdentityCenter BypassGovernanceRetention
CreateAccessGrant CreateAccessGrantsInstance CreateAccessGrantsLocation CreateAccessPoint
CreateAccessPointForObjectLambda CreateBucket CreateBucketMetadataTableConfiguration CreateJob
CreateMultiRegionAccessPoint CreateStorageLensGroup DeleteAccessGrant DeleteAccessGrantsInstance
DeleteAccessGrantsInstanceResourcePolicy DeleteAccessGrantsLocation DeleteAccessPoint
DeleteAccessPointForObjectLambda DeleteAccessPointPolicy DeleteAccessPointPolicyForObjectLambda
DeleteBucket DeleteBucketMetadataTableConfiguration DeleteBucketPolicy DeleteBucketWebsite
DeleteJobTagging DeleteMultiRegionAccessPoint DeleteObject DeleteObjectTagging DeleteObjectVersion
DeleteObjectVersionTagging DeleteStorageLensConfiguration DeleteStorageLensConfigurationTagging
DeleteStorageLensGroup DescribeJob DescribeMultiRegionAccessPointOperation
DissociateAccessGrantsIdentityCenter GetAccelerateConfiguration GetAccessGrant
GetAccessGrantsInstance GetAccessGrantsInstanceForPrefix GetAccessGrantsInstanceResourcePolicy
GetAccessGrantsLocation GetAccessPoint GetAccessPointConfigurationForObjectLambda
GetAccessPointForObjectLambda GetAccessPointPolicy GetAccessPointPolicyForObjectLambda
GetAccessPointPolicyStatus GetAccessPointPolicyStatusForObjectLambda GetAccountPublicAccessBlock
GetAnalyticsConfiguration GetBucketAcl GetBucketCORS GetBucketLocation GetBucketLogging
GetBucketMetadataTableConfiguration GetBucketNotification GetBucketObjectLockConfiguration
GetBucketOwnershipControls GetBucketPolicy GetBucketPolicyStatus GetBucketPublicAccessBlock
GetBucketRequestPayment GetBucketTagging GetBucketVersioning GetBucketWebsite GetDataAccess
GetEncryptionConfiguration GetIntelligentTieringConfiguration GetInventoryConfiguration
GetJobTagging GetLifecycleConfiguration GetMetricsConfiguration GetMultiRegionAccessPoint
GetMultiRegionAccessPointPolicy GetMultiRegionAccessPointPolicyStatus
GetMultiRegionAccessPointRoutes GetObject GetObjectAcl GetObjectAttributes GetObjectLegalHold
GetObjectRetention GetObjectTagging GetObjectTorrent GetObjectVersion GetObjectVersionAcl
GetObjectVersionAttributes GetObjectVersionForReplication GetObjectVersionTagging
GetObjectVersionTorrent GetReplicationConfiguration GetStorageLensConfiguration
GetStorageLensConfigurationTagging GetStorageLensDashboard GetStorageLensGroup
InitiateReplication ListAccessGrants ListAccessGrantsInstances ListAccessGrantsLocations
ListAccessPoints ListAccessPointsForObjectLambda ListAllMyBuckets ListBucket
ListBucketMultipartUploads ListBucketVersions ListCallerAccessGrants ListJobs
ListMultiRegionAccessPoints ListMultipartUploadParts ListStorageLensConfigurations
ListStorageLensGroups ListTagsForResource ObjectOwnerOverrideToBucketOwner PauseReplication
PutAccelerateConfiguration PutAccessGrantsInstanceResourcePolicy
PutAccessPointConfigurationForObjectLambda PutAccessPointPolicy
PutAccessPointPolicyForObjectLambda PutAccessPointPublicAccessBlock PutAccountPublicAccessBlock
PutAnalyticsConfiguration PutBucketAcl PutBucketCORS PutBucketLogging PutBucketNotification
PutBucketObjectLockConfiguration PutBucketOwnershipControls PutBucketPolicy
PutBucketPublicAccessBlock PutBucketRequestPayment PutBucketTagging PutBucketVersioning
PutBucketWebsite PutEncryptionConfiguration PutIntelligentTieringConfiguration
PutInventoryConfiguration PutJobTagging PutLifecycleConfiguration PutMetricsConfiguration
PutMultiRegionAccessPointPolicy PutObject PutObjectAcl PutObjectLegalHold PutObjectRetention
PutObjectTagging PutObjectVersionAcl PutObjectVersionTagging PutReplicationConfiguration
PutStorageLensConfiguration PutStorageLensConfigurationTagging ReplicateDelete ReplicateObject
ReplicateTags RestoreObject SubmitMultiRegionAccessPointRoutes TagResource UntagResource
UpdateAccessGrantsLocation UpdateJobPriority UpdateJobStatus UpdateStorageLensGroup""".split()


def main():
    iam = sorted(set(ops("iam", "2010-05-08")) | set(IAM_EXTRA))
    sts = sorted(set(ops("sts", "2011-06-15")) | set(STS_EXTRA))
    s3 = sorted(set(S3))
    out = ["//! Generated by `tools/gen_actions.py` (see its docstring for the sources). Do not edit.", ""]
    for name, lst in [("IAM", iam), ("STS", sts), ("S3", s3)]:
        out.append(f"/// Known `{name.lower()}:` action names.")
        out.append(f"pub const {name}: &[&str] = &[")
        out += [f'    "{a}",' for a in lst]
        out.append("];")
        out.append("")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "actions.rs")
    with open(path, "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
