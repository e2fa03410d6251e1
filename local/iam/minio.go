package iam

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/minio/madmin-go/v3"
)

// minioARNPrefix is the only S3 resource form MinIO policies accept.
const minioARNPrefix = "arn:aws:s3:::"

// S3Policy returns the MinIO (IAM-compatible) policy document of the
// role's S3 statements: their s3: actions, bucket and object resources and
// conditions. dropped lists what MinIO cannot express (S3 access points).
// doc is nil when the role has no S3 statement: its MinIO user gets no
// policy and is refused everything.
func (r *Role) S3Policy() (doc []byte, dropped []string, err error) {
	type statement struct {
		Effect    Effect                    `json:"Effect"`
		Action    []string                  `json:"Action"`
		Resource  []string                  `json:"Resource"`
		Condition map[string]map[string]any `json:"Condition,omitempty"`
	}
	var out []statement
	for _, st := range r.Statements {
		var actions []string
		for _, a := range st.Actions {
			switch service, _, _ := strings.Cut(strings.ToLower(a), ":"); {
			case a == "*":
				actions = append(actions, "s3:*")
			case service == "s3":
				actions = append(actions, a)
				// MinIO authorises a versioned GetObjectTagging as
				// s3:GetObjectTagging; Check enforces AWS's
				// s3:GetObjectVersionTagging in process.
				if strings.EqualFold(a, "s3:GetObjectVersionTagging") {
					actions = append(actions, "s3:GetObjectTagging")
				}
			}
		}
		if len(actions) == 0 {
			continue
		}
		var resources []string
		for _, res := range st.Resources {
			switch {
			case res == "*":
				resources = append(resources, res)
			case isS3BucketARN(res):
				// MinIO knows only the aws partition.
				resources = append(resources, minioARNPrefix+strings.SplitN(res, ":::", 2)[1])
			default:
				dropped = append(dropped, fmt.Sprintf("%s statement %d: %s on %s (MinIO has no access points)", st.Policy, st.Index, strings.Join(actions, ","), res))
			}
		}
		if len(resources) == 0 {
			continue
		}
		s := statement{Effect: st.Effect, Action: actions, Resource: resources}
		for _, c := range st.Conditions {
			if s.Condition == nil {
				s.Condition = map[string]map[string]any{}
			}
			if s.Condition[c.Operator] == nil {
				s.Condition[c.Operator] = map[string]any{}
			}
			s.Condition[c.Operator][c.Key] = c.Values
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, dropped, nil
	}
	doc, err = json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": out})
	if err != nil {
		return nil, nil, fmt.Errorf("iam: %s: S3 policy: %w", r.Function, err)
	}
	return doc, dropped, nil
}

// isS3BucketARN reports whether arn names a bucket or objects in one
// ("arn:<partition>:s3:::bucket/key"), not an access point.
func isS3BucketARN(arn string) bool {
	parts := strings.SplitN(arn, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[2] == "s3" && parts[3] == "" && parts[4] == ""
}

// MinIOUser is a function's MinIO identity.
type MinIOUser struct {
	AccessKey string
	SecretKey string
	Policy    string // canned policy name; "" when the role has no S3 statement
}

// CreateMinIOUser creates (or resets) the MinIO user named user, with a
// fresh secret key, and attaches policy (an S3Policy document) to it as
// the canned policy "egress-<user>". A nil policy leaves the user with no
// policy: MinIO refuses it everything. endpoint is the server's URL; the
// root keys administer it.
func CreateMinIOUser(ctx context.Context, endpoint, rootAccessKey, rootSecretKey, user string, policy []byte) (MinIOUser, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return MinIOUser{}, fmt.Errorf("iam: MinIO endpoint %q: want scheme://host:port", endpoint)
	}
	adm, err := madmin.New(u.Host, rootAccessKey, rootSecretKey, u.Scheme == "https")
	if err != nil {
		return MinIOUser{}, fmt.Errorf("iam: MinIO admin client: %w", err)
	}
	secret := rand.Text()
	if err := adm.AddUser(ctx, user, secret); err != nil {
		return MinIOUser{}, fmt.Errorf("iam: MinIO user %s: %w", user, err)
	}
	created := MinIOUser{AccessKey: user, SecretKey: secret}
	if policy == nil {
		return created, nil
	}
	created.Policy = "egress-" + user
	if err := adm.AddCannedPolicy(ctx, created.Policy, policy); err != nil {
		return MinIOUser{}, fmt.Errorf("iam: MinIO policy %s: %w", created.Policy, err)
	}
	_, err = adm.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{created.Policy}, User: user})
	// Attaching again (the user existed with it) is a no-op MinIO reports
	// as an error.
	var resp madmin.ErrorResponse
	if err != nil && !(errors.As(err, &resp) && resp.Code == "XMinioAdminPolicyChangeAlreadyApplied") {
		return MinIOUser{}, fmt.Errorf("iam: attach MinIO policy %s to %s: %w", created.Policy, user, err)
	}
	return created, nil
}
