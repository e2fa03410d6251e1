package stack

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/requests"
)

// resourceStar lists every action allowed on Resource "*", each with the
// reason AWS requires it. Nothing else may use "*".
var resourceStar = map[string]string{
	"xray:PutTraceSegments":    "X-Ray actions have no resource-level permissions (active tracing)",
	"xray:PutTelemetryRecords": "X-Ray actions have no resource-level permissions (active tracing)",
	"xray:GetSamplingRules":    "X-Ray actions have no resource-level permissions (state machine tracing)",
	"xray:GetSamplingTargets":  "X-Ray actions have no resource-level permissions (state machine tracing)",
	"dynamodb:ListStreams":     "Lambda lists the events table's streams for publish-events' event source; ListStreams takes no resource",

	"logs:CreateLogDelivery":         "Step Functions log delivery: the vended-logs actions have no resource-level permissions",
	"logs:GetLogDelivery":            "Step Functions log delivery: the vended-logs actions have no resource-level permissions",
	"logs:UpdateLogDelivery":         "Step Functions log delivery: the vended-logs actions have no resource-level permissions",
	"logs:DeleteLogDelivery":         "Step Functions log delivery: the vended-logs actions have no resource-level permissions",
	"logs:ListLogDeliveries":         "Step Functions log delivery: the vended-logs actions have no resource-level permissions",
	"logs:PutResourcePolicy":         "Step Functions log delivery updates the account's CloudWatch Logs resource policy",
	"logs:DescribeResourcePolicies":  "Step Functions log delivery reads the account's CloudWatch Logs resource policies",
	"logs:DescribeLogGroups":         "Step Functions log delivery lists log groups; List/Describe actions take no resource",
	"ec2:CreateNetworkInterface":     "Lambda creates a VPC function's network interfaces with its role (efs_mount_path only)",
	"ec2:DescribeNetworkInterfaces":  "Describe actions take no resource (efs_mount_path only)",
	"ec2:DescribeSubnets":            "Describe actions take no resource (efs_mount_path only)",
	"ec2:DeleteNetworkInterface":     "Lambda removes a VPC function's network interfaces with its role (efs_mount_path only)",
	"ec2:AssignPrivateIpAddresses":   "Lambda manages a VPC function's network interfaces with its role (efs_mount_path only)",
	"ec2:UnassignPrivateIpAddresses": "Lambda manages a VPC function's network interfaces with its role (efs_mount_path only)",
	"elasticfilesystem:ClientMount":  "CDK's mount grant: Resource * with an elasticfilesystem:AccessPointArn condition (efs_mount_path only)",
}

// list returns a policy field that may be a string or a list as strings.
func list(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			} else {
				out = append(out, jsonString(e))
			}
		}
		return out
	}
	return nil
}

func actions(statement any) []string { return list(get(statement, "Action")) }

// identityStatements returns every statement of the template's identity
// policies (AWS::IAM::Policy, ManagedPolicy and roles' inline policies),
// by the logical id of the policy.
func identityStatements(tmpl map[string]any) map[string][]any {
	out := map[string][]any{}
	for id, r := range resources(tmpl, "AWS::IAM::Policy") {
		out[id] = append(out[id], get(r, "Properties", "PolicyDocument", "Statement").([]any)...)
	}
	for id, r := range resources(tmpl, "AWS::IAM::ManagedPolicy") {
		out[id] = append(out[id], get(r, "Properties", "PolicyDocument", "Statement").([]any)...)
	}
	for id, r := range resources(tmpl, "AWS::IAM::Role") {
		if inline, ok := get(r, "Properties", "Policies").([]any); ok {
			for _, p := range inline {
				out[id] = append(out[id], get(p, "PolicyDocument", "Statement").([]any)...)
			}
		}
	}
	return out
}

func TestIAMExplicitActionsAndResources(t *testing.T) {
	for name, tmpl := range synth(t).templates {
		for id, statements := range identityStatements(tmpl) {
			for _, s := range statements {
				if get(s, "Effect") != "Allow" {
					continue
				}
				if get(s, "NotAction") != nil || get(s, "NotResource") != nil {
					t.Errorf("%s %s: NotAction/NotResource in %s", name, id, jsonString(s))
				}
				for _, a := range actions(s) {
					if strings.Contains(a, "*") {
						t.Errorf("%s %s: wildcard action %s", name, id, a)
					}
				}
				if !slices.Contains(list(get(s, "Resource")), "*") {
					continue
				}
				for _, a := range actions(s) {
					if resourceStar[a] == "" {
						t.Errorf("%s %s: %s on Resource * is not on the allowlist", name, id, a)
					}
				}
			}
		}
		for id, r := range resources(tmpl, "AWS::IAM::Role") {
			if get(r, "Properties", "ManagedPolicyArns") != nil {
				t.Errorf("%s: role %s has managed policies: %s", name, id, jsonString(get(r, "Properties", "ManagedPolicyArns")))
			}
		}
	}
}

// Resource policies: Allow statements name their principal; an allow for
// any principal is only the EFS mount-target policy, bound by its
// condition. The key policies' "kms:*" for the account root is the
// standard delegation to IAM, which keeps the account in control of its
// keys; a key policy's Resource "*" means the key itself.
func TestResourcePolicies(t *testing.T) {
	for name, tmpl := range synth(t).templates {
		docs := map[string]any{}
		for id, r := range resources(tmpl, "AWS::KMS::Key") {
			docs[id] = get(r, "Properties", "KeyPolicy")
		}
		for _, typ := range []string{"AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"} {
			for id, r := range resources(tmpl, typ) {
				docs[id] = get(r, "Properties", "PolicyDocument")
			}
		}
		for id, r := range resources(tmpl, "AWS::EFS::FileSystem") {
			docs[id] = get(r, "Properties", "FileSystemPolicy")
		}
		for id, doc := range docs {
			for _, s := range get(doc, "Statement").([]any) {
				if get(s, "Effect") != "Allow" {
					continue
				}
				principal := jsonString(get(s, "Principal"))
				switch {
				case strings.Contains(id, "ZipScratch"):
					if get(s, "Condition", "Bool", "elasticfilesystem:AccessedViaMountTarget") != "true" {
						t.Errorf("%s %s: file system policy without the mount-target condition: %s", name, id, jsonString(s))
					}
					continue
				case principal == `{"AWS":"*"}` || principal == `"*"`:
					t.Errorf("%s %s: allows any principal: %s", name, id, jsonString(s))
				}
				for _, a := range actions(s) {
					if strings.Contains(a, "*") && !(a == "kms:*" && strings.Contains(principal, ":root")) {
						t.Errorf("%s %s: wildcard action %s for %s", name, id, a, principal)
					}
				}
			}
		}
	}
}

// Each function may do exactly what its handler does.
func TestFunctionPermissions(t *testing.T) {
	common := []string{"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTelemetryRecords", "xray:PutTraceSegments"}
	readTables := []string{"dynamodb:GetItem", "kms:Decrypt", "kms:DescribeKey"}
	writeTables := append(slices.Clone(readTables), "dynamodb:PutItem", "dynamodb:UpdateItem", "kms:Encrypt", "kms:GenerateDataKey")
	mail := []string{"ses:SendEmail"}
	// objects.DeletePrefix: ListObjectVersions, DeleteObjects with version
	// ids, ListMultipartUploads and AbortMultipartUpload.
	deletePrefix := []string{"s3:ListBucketVersions", "s3:DeleteObject", "s3:DeleteObjectVersion",
		"s3:ListBucketMultipartUploads", "s3:AbortMultipartUpload"}
	want := map[string][]string{
		"start-workflow": concat(writeTables, mail, []string{"sqs:SendMessage", "states:StartExecution", "s3:GetObject", "s3:ListBucket", "dynamodb:Query"}),
		// s3:GetObject only on the object list: the store and staging are
		// read by version.
		// Deletes its copies for a request that ended while they were made.
		// No tagging action: copies carry no tags.
		"copy-to-staging": concat(writeTables, []string{"s3:GetObject", "s3:GetObjectVersion",
			"s3:ListBucket", "s3:PutObject"}, deletePrefix),
		// Reads the manifest and each staged version, keeps its progress
		// under checks/ and deletes it when done; GuardDuty's verdicts are
		// tags (Sample only: Full scans with ClamAV).
		"check-files": concat(writeTables, []string{"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:PutObject",
			"s3:ListBucketVersions", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:ListBucketMultipartUploads"}),
		// Reads the manifest (file types), publishes on the stage's topic
		// and lists the stage group's members.
		"store-task-token": concat(writeTables, mail, []string{"sns:Publish", "cognito-idp:ListUsersInGroup"}),
		"copy-to-datalake": concat(writeTables, []string{"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:ListBucket"}, deletePrefix),
		"handle-rejection": concat(readTables, []string{"dynamodb:UpdateItem"}, deletePrefix),
		"handle-failure":   concat(writeTables, deletePrefix),
		"execution-ended":  concat(writeTables, deletePrefix, mail, []string{"sqs:SendMessage"}),
		"notify":           concat(readTables, mail, []string{"sns:Publish", "cognito-idp:ListUsersInGroup", "kms:GenerateDataKey"}),
		// Revocation: deletes or hides the zip, publishes on the notices
		// topic; retryRequest reads the execution and cleans up.
		"egress-api": concat(writeTables, deletePrefix, []string{"dynamodb:Query", "states:SendTaskSuccess", "states:DescribeExecution",
			"s3:GetObject", "s3:GetObjectVersion", "sns:Publish"}),
		"pre-token-generation": nil,
		"send-reminders":       concat(writeTables, mail, []string{"dynamodb:Query", "sns:Publish", "cognito-idp:ListUsersInGroup"}),
		// Lambda reads the events table's stream for it (its event
		// source: the key decrypts the records); it puts them on the bus.
		"publish-events": {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams",
			"kms:Decrypt", "kms:DescribeKey", "events:PutEvents"},
		"purge-revoked": concat(writeTables, []string{"dynamodb:Query", "s3:ListBucketVersions", "s3:DeleteObject", "s3:DeleteObjectVersion"}),
		// Reads only: lists in-flight requests, reads their executions.
		"check-stuck": {"dynamodb:Query", "kms:Decrypt", "kms:DescribeKey", "states:DescribeExecution"},
		// Reads recent releases back; writes only its progress.
		"verify-releases": {"dynamodb:Query", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey",
			"s3:GetObject", "s3:ListBucket", "s3:PutObject"},
	}
	efs := []string{"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface",
		"ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses", "elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"}
	s := synth(t)
	for _, stackName := range []string{sampleStack, fullStack} {
		tmpl := s.templates[stackName]
		for _, fn := range functions.All() {
			name := fn.Name
			var got []string
			for _, st := range functionStatements(t, tmpl, stackName, name) {
				for _, a := range actions(st) {
					if !slices.Contains(got, a) {
						got = append(got, a)
					}
				}
			}
			w := concat(common, want[name])
			if stackName == fullStack && name == "copy-to-datalake" {
				w = concat(w, efs)
			}
			if stackName == sampleStack && name == "check-files" {
				w = concat(w, []string{"s3:GetObjectVersionTagging"})
			}
			sort.Strings(got)
			if w = slices.Compact(slices.Sorted(slices.Values(w))); !slices.Equal(got, w) {
				t.Errorf("%s %s may do\n %v\nwant\n %v", stackName, name, got, w)
			}
		}
	}
}

// functionStatements returns the statements of a function's role policy.
func functionStatements(t *testing.T, tmpl map[string]any, stackName, function string) []any {
	t.Helper()
	id, _ := byPath(t, tmpl, stackName, mustLookup(t, function).ID+"Role/DefaultPolicy/Resource")
	return identityStatements(tmpl)[id]
}

// render writes a policy resource as one string: Fn::GetAtt as <id.Attr>,
// Ref as <id>, Fn::Join concatenated.
func render(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if att, ok := x["Fn::GetAtt"].([]any); ok && len(att) == 2 {
			return fmt.Sprintf("<%v.%v>", att[0], att[1])
		}
		if r, ok := x["Ref"]; ok {
			return fmt.Sprintf("<%v>", r)
		}
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, render(p))
			}
			return strings.Join(parts, j[0].(string))
		}
	}
	return jsonString(v)
}

// allows reports whether an Allow statement grants action on resource.
func allows(statements []any, action, resource string) bool {
	for _, st := range statements {
		if get(st, "Effect") != "Allow" || !slices.Contains(actions(st), action) {
			continue
		}
		for _, r := range resourceList(st) {
			if render(r) == resource {
				return true
			}
		}
	}
	return false
}

// Every S3 call a function's handler makes is allowed on the resource it
// is made on: the IAM action each call needs, written out per call.
func TestS3CallsAllowed(t *testing.T) {
	s := synth(t)
	type call struct {
		function string
		call     string
		actions  []string
		resource string
	}
	for _, stackName := range []string{sampleStack, fullStack} {
		tmpl, cfg := s.templates[stackName], s.configs[stackName]
		stagingID, _ := byPath(t, tmpl, stackName, "StagingBucket/Resource")
		staging := "<" + stagingID + ".Arn>"
		store := cfg.SWBEgressStoreBucketARN
		lake := cfg.DatalakeBucketARN
		released := lake + "/approved_egress/*"
		// objects.DeletePrefix on one bucket's prefix.
		deletePrefix := func(function, bucket, objects string) []call {
			return []call{
				{function, "DeletePrefix: ListObjectVersions", []string{"s3:ListBucketVersions"}, bucket},
				{function, "DeletePrefix: DeleteObjects with version ids", []string{"s3:DeleteObject", "s3:DeleteObjectVersion"}, objects},
				{function, "DeletePrefix: ListMultipartUploads", []string{"s3:ListBucketMultipartUploads"}, bucket},
				{function, "DeletePrefix: AbortMultipartUpload", []string{"s3:AbortMultipartUpload"}, objects},
			}
		}
		calls := []call{
			{"start-workflow", "Read the object list", []string{"s3:GetObject"}, cfg.SWBNotificationBucketARN + "/*"},
			{"copy-to-staging", "Read the object list", []string{"s3:GetObject"}, cfg.SWBNotificationBucketARN + "/*"},
			{"copy-to-staging", "HeadObject, CopyObject, UploadPartCopy of a version", []string{"s3:GetObjectVersion"}, store + "/*"},
			{"copy-to-staging", "HeadObject of a missing key answers 404", []string{"s3:ListBucket"}, store},
			{"copy-to-staging", "CopyObject, multipart copy, WriteManifest", []string{"s3:PutObject"}, staging + "/*"},
			{"copy-to-staging", "abort of a failed multipart copy", []string{"s3:AbortMultipartUpload"}, staging + "/*"},
			{"copy-to-staging", "GetObject of the copy's version (checksum)", []string{"s3:GetObjectVersion"}, staging + "/*"},
			{"copy-to-staging", "ReadManifest of its checkpoint", []string{"s3:GetObject"}, staging + "/copies/*"},
			{"copy-to-staging", "its missing checkpoint answers 404", []string{"s3:ListBucket"}, staging},
			{"copy-to-datalake", "ReadManifest", []string{"s3:GetObject"}, staging + "/*"},
			{"copy-to-datalake", "GetObject of each staged version", []string{"s3:GetObjectVersion"}, staging + "/*"},
			{"copy-to-datalake", "GetObject of a vanished staged version answers 404", []string{"s3:ListBucket"}, staging},
			{"copy-to-datalake", "WriteZip: CreateMultipartUpload, UploadPart, CompleteMultipartUpload", []string{"s3:PutObject"}, released},
			{"copy-to-datalake", "WriteZip: abort on failure", []string{"s3:AbortMultipartUpload"}, released},
			{"copy-to-datalake", "WriteZipJob: PutObject of the release checkpoint", []string{"s3:PutObject"}, staging + "/releases/*"},
			{"copy-to-datalake", "the first invocation's missing checkpoint answers 404", []string{"s3:ListBucket"}, staging},
			{"handle-failure", "DeletePrefix: ListObjectVersions (approved_egress/ only)", []string{"s3:ListBucketVersions"}, lake},
			{"handle-failure", "DeletePrefix: ListMultipartUploads", []string{"s3:ListBucketMultipartUploads"}, lake},
			{"handle-failure", "DeletePrefix: DeleteObjects with version ids", []string{"s3:DeleteObject", "s3:DeleteObjectVersion"}, released},
			{"handle-failure", "DeletePrefix: AbortMultipartUpload", []string{"s3:AbortMultipartUpload"}, released},
			{"egress-api", "ReadManifest", []string{"s3:GetObject"}, staging + "/manifests/*"},
			{"egress-api", "presigned GetObject of the zip", []string{"s3:GetObject"}, released},
			{"egress-api", "previewFile: ranged GetObject and presigned GetObject of a staged version", []string{"s3:GetObjectVersion"}, staging + "/*"},
			{"egress-api", "DeleteVersions of a revoked zip: ListObjectVersions (approved_egress/ only)", []string{"s3:ListBucketVersions"}, lake},
			{"egress-api", "DeleteVersions of a revoked zip: DeleteObject with a version id", []string{"s3:DeleteObjectVersion"}, released},
			{"egress-api", "HideObject of a revoked zip: DeleteObject without one", []string{"s3:DeleteObject"}, released},
			{"egress-api", "retryRequest: DeletePrefix of a partial release: ListMultipartUploads", []string{"s3:ListBucketMultipartUploads"}, lake},
			{"egress-api", "retryRequest: DeletePrefix of a partial release: AbortMultipartUpload", []string{"s3:AbortMultipartUpload"}, released},
		}
		calls = append(calls, deletePrefix("egress-api", staging, staging+"/*")...)
		calls = append(calls,
			call{"check-files", "ReadManifest, ReadJSON of its progress", []string{"s3:GetObject"}, staging + "/manifests/*"},
			call{"check-files", "ReadJSON of its progress", []string{"s3:GetObject"}, staging + "/checks/*"},
			call{"check-files", "WriteManifest with the findings, WriteJSON of its progress", []string{"s3:PutObject"}, staging + "/manifests/*"},
			call{"check-files", "WriteJSON of its progress", []string{"s3:PutObject"}, staging + "/checks/*"},
			call{"check-files", "OpenRange of each staged version", []string{"s3:GetObjectVersion"}, staging + "/*"},
			call{"check-files", "the first ReadJSON of a missing progress answers 404", []string{"s3:ListBucket"}, staging},
			call{"check-files", "DeletePrefix of its progress: ListObjectVersions", []string{"s3:ListBucketVersions"}, staging},
			call{"check-files", "DeletePrefix of its progress: DeleteObjects", []string{"s3:DeleteObject", "s3:DeleteObjectVersion"}, staging + "/checks/*"},
			call{"verify-releases", "ReadZip: HeadObject and ranged GetObject of a release", []string{"s3:GetObject"}, released},
			call{"verify-releases", "ReadManifest", []string{"s3:GetObject"}, staging + "/manifests/*"},
			call{"verify-releases", "ReadJSON, WriteJSON of its progress", []string{"s3:GetObject", "s3:PutObject"}, staging + "/verify-releases/*"},
			call{"verify-releases", "the first ReadJSON of a missing progress answers 404", []string{"s3:ListBucket"}, staging},
		)
		if stackName == sampleStack {
			calls = append(calls, call{"check-files", "GuardDuty's verdict: GetObjectTagging of a staged version", []string{"s3:GetObjectVersionTagging"}, staging + "/*"})
		}
		calls = append(calls, deletePrefix("copy-to-staging", staging, staging+"/*")...)
		calls = append(calls, deletePrefix("copy-to-datalake", staging, staging+"/*")...)
		calls = append(calls,
			call{"copy-to-datalake", "DeletePrefix of its zip: ListObjectVersions (approved_egress/ only)", []string{"s3:ListBucketVersions"}, lake},
			call{"copy-to-datalake", "DeletePrefix of its zip: ListMultipartUploads", []string{"s3:ListBucketMultipartUploads"}, lake},
			call{"copy-to-datalake", "DeletePrefix of its zip: DeleteObjects with version ids", []string{"s3:DeleteObject", "s3:DeleteObjectVersion"}, released})
		calls = append(calls, deletePrefix("handle-rejection", staging, staging+"/*")...)
		calls = append(calls, deletePrefix("handle-failure", staging, staging+"/*")...)
		calls = append(calls, deletePrefix("execution-ended", staging, staging+"/*")...)
		calls = append(calls,
			call{"execution-ended", "DeletePrefix: ListObjectVersions (approved_egress/ only)", []string{"s3:ListBucketVersions"}, lake},
			call{"execution-ended", "DeletePrefix: ListMultipartUploads", []string{"s3:ListBucketMultipartUploads"}, lake},
			call{"execution-ended", "DeletePrefix: DeleteObjects with version ids", []string{"s3:DeleteObject", "s3:DeleteObjectVersion"}, released},
			call{"execution-ended", "DeletePrefix: AbortMultipartUpload", []string{"s3:AbortMultipartUpload"}, released},
		)
		for _, c := range calls {
			statements := functionStatements(t, tmpl, stackName, c.function)
			for _, a := range c.actions {
				if !allows(statements, a, c.resource) {
					t.Errorf("%s %s: %s needs %s on %s", stackName, c.function, c.call, a, c.resource)
				}
			}
		}
		// Unversioned reads no call makes: every source the copy reads is
		// a listed version, and its checksum reads the copy's version.
		unneeded := []call{
			{"copy-to-staging", "HeadObject, CopyObject of the latest version", []string{"s3:GetObject", "s3:GetObjectTagging"}, store + "/*"},
			{"copy-to-staging", "GetObject of the latest staged copy", []string{"s3:GetObject", "s3:GetObjectTagging"}, staging + "/*"},
			{"egress-api", "GetObject of the latest staged copy (previews read versions)", []string{"s3:GetObject"}, staging + "/*"},
		}
		for _, c := range unneeded {
			statements := functionStatements(t, tmpl, stackName, c.function)
			for _, a := range c.actions {
				if allows(statements, a, c.resource) {
					t.Errorf("%s %s: %s on %s is allowed, but no call needs it (%s)", stackName, c.function, a, c.resource, c.call)
				}
			}
		}
	}
}

// Each function's DynamoDB actions on the requests table, its indexes
// and the events table, exactly: only intake creates requests (a
// transaction's Put is PutItem); the other writers update them
// (UpdateItem), and listing queries the index, never the table.
func TestRequestsTableGrants(t *testing.T) {
	const (
		getItem, put, update, query = "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"
		table, byStatus, events     = "requests", "requests/index/by-status", "events"
		byWorkspace, byRequester    = "requests/index/by-workspace", "requests/index/by-requester"
	)
	writer := []string{getItem + " " + table, update + " " + table, put + " " + events}
	want := map[string][]string{
		"start-workflow":   concat(writer, []string{put + " " + table, query + " " + byWorkspace}),
		"copy-to-staging":  writer,
		"check-files":      writer,
		"store-task-token": writer,
		"copy-to-datalake": writer,
		"handle-failure":   writer,
		"execution-ended":  writer,
		"handle-rejection": {getItem + " " + table},
		"notify":           {getItem + " " + table},
		"egress-api":       concat(writer, []string{query + " " + byStatus, query + " " + byWorkspace, query + " " + byRequester, query + " " + events}),
		"send-reminders":   concat(writer, []string{query + " " + byStatus}),
		"purge-revoked":    concat(writer, []string{query + " " + byStatus}),
		"check-stuck":      {query + " " + byStatus},
		"verify-releases":  {query + " " + byStatus},
	}
	s := synth(t)
	for _, stackName := range []string{sampleStack, fullStack} {
		tmpl := s.templates[stackName]
		reqID, _ := byPath(t, tmpl, stackName, "RequestsTable/Resource")
		evID, _ := byPath(t, tmpl, stackName, "EventsTable/Resource")
		names := map[string]string{
			"<" + reqID + ".Arn>":                                  table,
			"<" + reqID + ".Arn>/index/" + requests.IndexStatus:    byStatus,
			"<" + reqID + ".Arn>/index/" + requests.IndexWorkspace: byWorkspace,
			"<" + reqID + ".Arn>/index/" + requests.IndexRequester: byRequester,
			"<" + evID + ".Arn>":                                   events,
		}
		for _, fn := range functions.All() {
			var got []string
			for _, st := range functionStatements(t, tmpl, stackName, fn.Name) {
				if get(st, "Effect") != "Allow" {
					continue
				}
				for _, r := range resourceList(st) {
					name, ok := names[render(r)]
					if !ok {
						continue
					}
					for _, a := range actions(st) {
						if strings.HasPrefix(a, "dynamodb:") {
							got = append(got, a+" "+name)
						}
					}
				}
			}
			got = slices.Compact(slices.Sorted(slices.Values(got)))
			if w := slices.Sorted(slices.Values(want[fn.Name])); !slices.Equal(got, w) {
				t.Errorf("%s %s may do\n %v\nwant\n %v", stackName, fn.Name, got, w)
			}
		}
	}
}

// resourceList returns a statement's resources, one or a list.
func resourceList(st any) []any {
	if rs, ok := get(st, "Resource").([]any); ok {
		return rs
	}
	return []any{get(st, "Resource")}
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// The datalake is written and read only under approved_egress/.
func TestDatalakeScope(t *testing.T) {
	s := synth(t)
	cfg := s.configs[sampleStack]
	for id, statements := range identityStatements(s.templates[sampleStack]) {
		for _, st := range statements {
			for _, r := range list(get(st, "Resource")) {
				if strings.HasPrefix(r, cfg.DatalakeBucketARN+"/") && r != cfg.DatalakeBucketARN+"/approved_egress/*" {
					t.Errorf("%s: datalake resource %s", id, r)
				}
				// ListBucketMultipartUploads takes no s3:prefix condition.
				if r == cfg.DatalakeBucketARN && get(st, "Condition", "StringLike", "s3:prefix") != "approved_egress/*" &&
					!slices.Equal(actions(st), []string{"s3:ListBucketMultipartUploads"}) {
					t.Errorf("%s: datalake bucket-level access without the approved_egress/ prefix: %s", id, jsonString(st))
				}
			}
		}
	}
}

func mustLookup(t *testing.T, name string) functions.Function {
	t.Helper()
	fn, ok := functions.Lookup(name)
	if !ok {
		t.Fatalf("no function %s in the table", name)
	}
	return fn
}

// store-task-token publishes on exactly the stage topics, through their
// key, and lists users of exactly the reviewers' pool.
func TestReviewerNoticeGrants(t *testing.T) {
	s := synth(t)
	for _, stackName := range []string{sampleStack, fullStack} {
		tmpl := s.templates[stackName]
		chain, err := egress.NewChain(s.configs[stackName].ReviewerRoles, s.configs[stackName].SingleApproval)
		if err != nil {
			t.Fatal(err)
		}
		var topics []string
		for i := range chain.Stages {
			id, _ := byPath(t, tmpl, stackName, fmt.Sprintf("ReviewerTopic%d/Resource", i))
			topics = append(topics, "<"+id+">")
		}
		poolID, _ := one(t, tmpl, "AWS::Cognito::UserPool")
		keyID, _ := byPath(t, tmpl, stackName, "StateKey/Resource")
		statements := functionStatements(t, tmpl, stackName, "store-task-token")
		var published, listed []string
		snsKey := false
		for _, st := range statements {
			acts := actions(st)
			switch {
			case slices.Contains(acts, "sns:Publish"):
				res, ok := get(st, "Resource").([]any)
				if !ok {
					res = []any{get(st, "Resource")}
				}
				for _, r := range res {
					published = append(published, render(r))
				}
			case slices.Contains(acts, "cognito-idp:ListUsersInGroup"):
				listed = append(listed, render(get(st, "Resource")))
			case slices.Equal(acts, []string{"kms:Decrypt", "kms:GenerateDataKey"}) && render(get(st, "Resource")) == "<"+keyID+".Arn>":
				via := render(get(st, "Condition", "StringEquals", "kms:ViaService"))
				snsKey = snsKey || strings.HasPrefix(via, "sns.")
			}
		}
		if slices.Sort(published); !slices.Equal(published, slices.Sorted(slices.Values(topics))) {
			t.Errorf("%s: sns:Publish on %v, want the stage topics %v", stackName, published, topics)
		}
		if want := "<" + poolID + ".Arn>"; !slices.Equal(listed, []string{want}) {
			t.Errorf("%s: cognito-idp:ListUsersInGroup on %v, want %s", stackName, listed, want)
		}
		if !snsKey {
			t.Errorf("%s: store-task-token may not use the topics' key through SNS", stackName)
		}
	}
}

// send-reminders tells the stage's reviewers as store-task-token does:
// the same SNS, key and Cognito statements (TestReviewerNoticeGrants
// checks those).
func TestReminderGrants(t *testing.T) {
	s := synth(t)
	for _, stackName := range []string{sampleStack, fullStack} {
		tmpl := s.templates[stackName]
		telling := func(function string) []string {
			var out []string
			for _, st := range functionStatements(t, tmpl, stackName, function) {
				acts := actions(st)
				if slices.ContainsFunc(acts, func(a string) bool {
					return strings.HasPrefix(a, "sns:") || strings.HasPrefix(a, "cognito-idp:") ||
						strings.HasPrefix(render(get(st, "Condition", "StringEquals", "kms:ViaService")), "sns.")
				}) {
					out = append(out, jsonString(st))
				}
			}
			return slices.Sorted(slices.Values(out))
		}
		notice, reminder := telling("store-task-token"), telling("send-reminders")
		if len(notice) != 3 || !slices.Equal(notice, reminder) {
			t.Errorf("%s: send-reminders may\n %v\nstore-task-token\n %v", stackName, reminder, notice)
		}
	}
}
