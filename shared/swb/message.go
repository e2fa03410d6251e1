package swb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tre-egress/egress/shared/egress"
)

// Message is SWB's egress notification: the JSON object carried as the SNS
// record's Message. Only ParseMessage makes one, so every field is valid.
type Message struct {
	ID              string // egress request id; also the Step Functions execution name
	EgressStoreID   string // key of SWB's egress store table; equals WorkspaceID
	EgressStoreName string
	WorkspaceID     string
	ProjectID       string
	CreatedAt       time.Time
	CreatedBy       string // SWB user id of the submitter
	CreatedByEmail  string
	UpdatedAt       time.Time
	UpdatedBy       string
	UpdatedByEmail  string
	S3BucketName    string // SWB egress store bucket
	S3BucketPath    string // "<workspace id>/": the prefix every submitted key starts with
	Status          string // always "PENDING"
	Ver             int    // SWB store version
	// ObjectListLocation is egress_store_object_list_location as sent:
	// arn:aws:s3:::<bucket>/<key>, split into ObjectListBucket and ObjectListKey.
	ObjectListLocation string
	ObjectListBucket   string
	ObjectListKey      string
}

// Step Functions execution names allow more, but SWB ids are UUIDs and
// [A-Za-z0-9_-] is safe in S3 keys and DynamoDB keys too. The request id is
// the execution name (at most 80); the workspace id becomes a path segment
// of staging and datalake keys (at most 128). A loop rather than a regexp:
// bounded repetition compiles into a large program at every cold start.
const (
	maxExecutionName = 80
	maxWorkspaceID   = 128
)

func safeID(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ParseMessage parses and validates the SNS Message of an SWB egress
// notification. Unknown fields are ignored. Every bad field is reported, in
// one *egress.Error with code EINVALID whose message names each field.
//
// ver is a JSON number per the contract; a string of decimal digits ("3") is
// also accepted, because it is unambiguous and refusing it would strand the
// store in PENDING for a formatting detail.
func ParseMessage(data []byte) (Message, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Message{}, egress.Errorf(egress.EINVALID, "SWB egress message is empty")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		if !json.Valid(data) {
			return Message{}, egress.Errorf(egress.EINVALID, "SWB egress message is not JSON: %v", err)
		}
		return Message{}, egress.Errorf(egress.EINVALID, "SWB egress message is not a JSON object")
	}
	p := fields{raw: raw}
	m := Message{
		ID:                 p.str("id"),
		EgressStoreID:      p.str("egress_store_id"),
		EgressStoreName:    p.str("egress_store_name"),
		WorkspaceID:        p.str("workspace_id"),
		ProjectID:          p.str("project_id"),
		CreatedAt:          p.timestamp("created_at"),
		CreatedBy:          p.str("created_by"),
		CreatedByEmail:     p.email("created_by_email"),
		UpdatedAt:          p.timestamp("updated_at"),
		UpdatedBy:          p.str("updated_by"),
		UpdatedByEmail:     p.email("updated_by_email"),
		S3BucketName:       p.str("s3_bucketname"),
		S3BucketPath:       p.str("s3_bucketpath"),
		Status:             p.str("status"),
		Ver:                p.ver("ver"),
		ObjectListLocation: p.str("egress_store_object_list_location"),
	}

	if m.ID != "" && !safeID(m.ID, maxExecutionName) {
		p.fail("id", "must be 1 to 80 letters, digits, '-' or '_' (it names the workflow execution), got %s", quote(m.ID))
	}
	wsOK := m.WorkspaceID != "" && safeID(m.WorkspaceID, maxWorkspaceID)
	if m.WorkspaceID != "" && !wsOK {
		p.fail("workspace_id", "must be 1 to 128 letters, digits, '-' or '_' (it becomes a folder name), got %s", quote(m.WorkspaceID))
	}
	if wsOK && m.EgressStoreID != "" && m.EgressStoreID != m.WorkspaceID {
		p.fail("egress_store_id", "must equal workspace_id %s, got %s", quote(m.WorkspaceID), quote(m.EgressStoreID))
	}
	if m.S3BucketName != "" {
		if err := checkBucketName(m.S3BucketName); err != nil {
			p.fail("s3_bucketname", "%s is not a valid S3 bucket name: %v", quote(m.S3BucketName), err)
		}
	}
	switch {
	case m.S3BucketPath == "":
	case !strings.HasSuffix(m.S3BucketPath, "/"):
		p.fail("s3_bucketpath", `must end with "/", got %s`, quote(m.S3BucketPath))
	case wsOK && m.S3BucketPath != m.WorkspaceID+"/":
		p.fail("s3_bucketpath", `must be the workspace_id followed by "/" (%q), got %s`, m.WorkspaceID+"/", quote(m.S3BucketPath))
	}
	if m.Status != "" && m.Status != "PENDING" {
		p.fail("status", `must be "PENDING", got %s`, quote(m.Status))
	}
	if m.ObjectListLocation != "" {
		b, k, err := ParseS3ARN(m.ObjectListLocation)
		if err != nil {
			p.fail("egress_store_object_list_location", "%s", egress.ErrorMessage(err))
		}
		m.ObjectListBucket, m.ObjectListKey = b, k
	}
	if err := p.err(); err != nil {
		return Message{}, err
	}
	return m, nil
}

// Request maps the message onto a new egress request awaiting its first
// decision. UpdatedBy is SWB's updated_by (normally the submitter) and
// UpdatedAt is now, when the request record is made; the store sets
// Version.
func (m Message) Request(now time.Time) egress.Request {
	return egress.Request{
		ID:                       m.ID,
		StoreName:                m.EgressStoreName,
		StoreID:                  m.EgressStoreID,
		ProjectID:                m.ProjectID,
		WorkspaceID:              m.WorkspaceID,
		RequestedBy:              m.CreatedBy,
		RequestedByEmail:         m.CreatedByEmail,
		RequestedAt:              m.CreatedAt.UTC(),
		UpdatedBy:                m.UpdatedBy,
		UpdatedAt:                now.UTC(),
		Status:                   egress.StatusProcessing,
		StoreBucket:              m.S3BucketName,
		StoreBucketPath:          m.S3BucketPath,
		ObjectListLocation:       m.ObjectListLocation,
		SWBObjectMetadataVersion: strconv.Itoa(m.Ver),
	}
}

// messageFields are the contract's fields in its order, the order in which
// problems are reported.
var messageFields = []string{
	"id", "egress_store_id", "egress_store_name", "workspace_id", "project_id",
	"created_at", "created_by", "created_by_email", "updated_at", "updated_by",
	"updated_by_email", "s3_bucketname", "s3_bucketpath", "status", "ver",
	"egress_store_object_list_location",
}

// fields reads a decoded JSON object field by field, collecting the first
// problem of each bad field so the sender learns everything wrong at once.
type fields struct {
	raw      map[string]json.RawMessage
	problems map[string]string
}

func (p *fields) fail(name, format string, args ...any) {
	if p.problems == nil {
		p.problems = map[string]string{}
	}
	if _, ok := p.problems[name]; !ok {
		p.problems[name] = fmt.Sprintf(format, args...)
	}
}

// err returns the problems as one EINVALID error, or nil.
func (p *fields) err() error {
	if len(p.problems) == 0 {
		return nil
	}
	var list []string
	for _, name := range messageFields {
		if why, ok := p.problems[name]; ok {
			list = append(list, name+": "+why)
		}
	}
	return egress.Errorf(egress.EINVALID, "invalid SWB egress message: %s", strings.Join(list, "; "))
}

// maxChars bounds the fields that have no stricter rule of their own (id,
// workspace_id, s3_bucketname and status have theirs), so that no message, however large, makes a
// request record that later outgrows DynamoDB's 400 KB item limit: ids as
// SWB makes them, names, e-mail addresses as RFC 5321 allows, S3 keys.
var maxChars = map[string]int{
	"egress_store_id":                   maxWorkspaceID,
	"egress_store_name":                 256,
	"project_id":                        128,
	"created_at":                        64,
	"created_by":                        128,
	"created_by_email":                  320,
	"updated_at":                        64,
	"updated_by":                        128,
	"updated_by_email":                  320,
	"s3_bucketpath":                     maxKeyBytes,
	"egress_store_object_list_location": 2048, // arn:<partition>:s3:::, a bucket, "/" and a key
}

// maxKeyBytes is S3's limit on an object key.
const maxKeyBytes = 1024

// str returns a required, non-blank string field without control
// characters (values end up in e-mail headers and logs) and within its
// length limit, or "" after recording why not.
func (p *fields) str(name string) string {
	raw, ok := p.raw[name]
	if !ok || string(raw) == "null" {
		p.fail(name, "is required")
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		p.fail(name, "must be a string, got JSON %s", jsonKind(raw))
		return ""
	}
	if strings.TrimSpace(s) == "" {
		p.fail(name, "must not be empty")
		return ""
	}
	if limit := maxChars[name]; limit > 0 {
		if n := utf8.RuneCountInString(s); n > limit {
			p.fail(name, "must be at most %d characters, got %d", limit, n)
			return ""
		}
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		p.fail(name, "must not contain control characters, got %s", quote(s))
		return ""
	}
	return s
}

func (p *fields) timestamp(name string) time.Time {
	s := p.str(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		p.fail(name, "must be an RFC 3339 timestamp such as 2026-11-20T09:14:03.512Z, got %s", quote(s))
	}
	return t
}

func (p *fields) email(name string) string {
	s := p.str(name)
	if s != "" && !plausibleEmail(s) {
		p.fail(name, "must be a plain e-mail address such as someone@example.org, got %s", quote(s))
		return ""
	}
	return s
}

func (p *fields) ver(name string) int {
	raw, ok := p.raw[name]
	if !ok || string(raw) == "null" {
		p.fail(name, "is required")
		return 0
	}
	text := string(raw)
	switch jsonKind(raw) {
	case "number":
	case "string":
		if err := json.Unmarshal(raw, &text); err != nil || text == "" || strings.Trim(text, "0123456789") != "" {
			text = "" // only plain decimal digits are accepted in a string
		}
	default:
		p.fail(name, "must be a number, got JSON %s", jsonKind(raw))
		return 0
	}
	n, ok := positiveInt(text)
	if !ok {
		c, cut := clip(string(raw))
		p.fail(name, "must be an integer of at least 1, got %s%s", c, cut)
	}
	return n
}

// positiveInt parses a whole number from 1 to MaxInt32, also when written
// as a float (3.0), as encoders that only have floats do.
func positiveInt(s string) (int, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || f < 1 || f > math.MaxInt32 {
		return 0, false
	}
	return int(f), true
}

// jsonKind names the type of a JSON value for error messages.
func jsonKind(raw json.RawMessage) string {
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// plausibleEmail accepts a bare address whose domain has a dot; it catches
// garbage and "Name <addr>" forms, not undeliverable mail.
func plausibleEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	domain := s[strings.LastIndexByte(s, '@')+1:]
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// checkBucketName applies S3's general purpose bucket naming rules.
func checkBucketName(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return errors.New("must be 3 to 63 characters long")
	}
	for _, c := range []byte(b) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return errors.New("may contain only lower-case letters, digits, '.' and '-'")
		}
	}
	if !isAlnum(b[0]) || !isAlnum(b[len(b)-1]) {
		return errors.New("must begin and end with a letter or digit")
	}
	if strings.Contains(b, "..") {
		return errors.New("must not contain two adjacent periods")
	}
	if net.ParseIP(b) != nil {
		return errors.New("must not be formatted as an IP address")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(b, p) {
			return fmt.Errorf("must not start with the reserved prefix %q", p)
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(b, s) {
			return fmt.Errorf("must not end with the reserved suffix %q", s)
		}
	}
	return nil
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// ParseS3ARN splits an S3 object ARN, arn:aws:s3:::<bucket>/<key>, into
// bucket and key. Other partitions (aws-cn, aws-us-gov) are accepted; the
// key is returned as written, without URL-decoding.
func ParseS3ARN(s string) (bucket, key string, err error) {
	fail := func(why string) (string, string, error) {
		return "", "", egress.Errorf(egress.EINVALID, "%s is not an S3 object ARN (arn:aws:s3:::<bucket>/<key>): %s", quote(s), why)
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return fail(`want 6 ":"-separated parts starting with "arn"`)
	}
	if parts[1] == "" || strings.Trim(parts[1], "abcdefghijklmnopqrstuvwxyz-") != "" {
		return fail(fmt.Sprintf("bad partition %q", parts[1]))
	}
	if parts[2] != "s3" {
		return fail(fmt.Sprintf("service is %q, not s3", parts[2]))
	}
	if parts[3] != "" || parts[4] != "" {
		return fail("region and account must be empty")
	}
	bucket, key, ok := strings.Cut(parts[5], "/")
	if !ok || key == "" {
		return fail("no object key after the bucket")
	}
	if err := checkBucketName(bucket); err != nil {
		return fail(fmt.Sprintf("bucket %q %v", bucket, err))
	}
	if !utf8.ValidString(key) || strings.IndexFunc(key, unicode.IsControl) >= 0 {
		return fail("key has invalid or control characters")
	}
	if len(key) > maxKeyBytes {
		return fail(fmt.Sprintf("key is %d bytes long, over S3's limit of %d", len(key), maxKeyBytes))
	}
	return bucket, key, nil
}

// quote quotes s for an error message, escaping control characters and
// shortening it so that a hostile value cannot blow up logs or a Step
// Functions error cause.
func quote(s string) string {
	s, cut := clip(s)
	return strconv.Quote(s) + cut
}

// clip returns the first 100 characters of s and "..." if it cut any.
func clip(s string) (string, string) {
	n := 0
	for i := range s {
		if n == 100 {
			return s[:i], "..."
		}
		n++
	}
	return s, ""
}
