// Package iam makes the local stack and the tests refuse what AWS would
// refuse: every function runs with its own identity, and every AWS call it
// makes is checked against that function's role in the synthesized
// CloudFormation template (the golden templates under
// infra/stack/testdata).
//
// The pieces:
//
//   - Load reads a template and returns, per Lambda function (keyed by its
//     construct id, "CopyToStaging"), the statements of every identity
//     policy attached to its role, with Ref, Fn::GetAtt, Fn::Join, Fn::Sub,
//     Fn::Select, Fn::Split and the pseudo parameters resolved to the local
//     stack's names by a Resolver.
//   - An Authorizer evaluates a request (function, action, resource,
//     condition keys) as IAM does for identity policies: an explicit Deny
//     wins, then any Allow; otherwise the request is refused with an
//     *AccessDeniedError whose text mirrors AWS's. It records which grant
//     allowed each request, so Unused lists the actions a role is granted
//     but that no test exercised.
//   - Check is a smithy-go middleware for the SDK clients a function uses:
//     it maps each operation to the IAM actions and resource ARNs AWS
//     authorises (DynamoDB, Step Functions, SES v2, SNS, Cognito user pools
//     and S3) and refuses the call before it leaves the process. An
//     operation it cannot map is refused, never let through.
//   - S3Policy and CreateMinIOUser give each function a MinIO user whose
//     policy is its role's S3 statements, so the real S3 server refuses.
//
// What is enforced and what is not (the README's "Local vs AWS" table):
//
//	DynamoDB        in process: GetItem, PutItem, UpdateItem, DeleteItem, Query and
//	                Scan (index ARNs), TransactWriteItems and TransactGetItems per item,
//	                BatchGetItem, BatchWriteItem, DescribeTable
//	Step Functions  in process: StartExecution, DescribeExecution, GetExecutionHistory,
//	                StopExecution; SendTask{Success,Failure,Heartbeat} against the state
//	                machine that issued the token (Authorizer.TaskToken resolves it)
//	SES v2          in process: SendEmail on the sender's identity and the configuration
//	                set, with the ses:FromAddress and ses:ApiVersion condition keys
//	SNS             in process: Publish, PublishBatch
//	Cognito         in process: user-pool operations on the pool ARN
//	S3              by MinIO, one user per function (CreateMinIOUser); in process only
//	                where MinIO is laxer than AWS: s3:GetObjectVersion,
//	                s3:GetObjectVersionTagging, s3:DeleteObjectVersion (AWS needs
//	                s3:DeleteObject as well), s3:ListBucketVersions (MinIO accepts
//	                s3:ListBucket), the tagging actions CopyObject and tagged uploads
//	                need, every key of DeleteObjects (MinIO refuses keys inside a
//	                successful response, which cannot name the action) and
//	                s3:ListBucket for a missing object (below). S3 access points
//	                are not modelled (MinIO has none).
//	not enforced    CloudWatch Logs, X-Ray, KMS, EC2, EFS, SQS, Lambda and IAM
//	                statements: the Lambda service uses them, not the function's code;
//	                Load lists them in Role.Skipped.
//
// A read of an object that does not exist (GetObject, HeadObject,
// GetObjectTagging, or a CopyObject or UploadPartCopy source) is answered
// "not found" (NoSuchKey, NotFound, NoSuchVersion) only if the role may
// s3:ListBucket the bucket, without an s3:prefix key; otherwise Check
// replaces the 404 with AccessDenied, as AWS does. MinIO answers 404 to
// any user, so this is checked in process after the call. One difference:
// AWS's 403 for this case does not name s3:ListBucket; Check's does, on
// the bucket, since that is the grant to add.
//
// Only identity policies are evaluated: resource policies (bucket, key and
// topic policies), permission boundaries, SCPs and session policies are not.
// Resource patterns are matched as a whole string, so "*" also spans ":".
package iam
