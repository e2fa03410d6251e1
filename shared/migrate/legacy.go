package migrate

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The original's attribute names (Contract 3's Request type): every one is
// a string there, whatever it holds.
const (
	attrID                 = "egress_request_id"
	attrStoreName          = "egress_store_name"
	attrStoreID            = "swb_egress_store_id"
	attrProject            = "project_id"
	attrWorkspace          = "workspace_id"
	attrRequestedBy        = "requested_by"
	attrRequestedAt        = "requested_dt"
	attrUpdatedBy          = "updated_by"
	attrUpdatedAt          = "updated_dt"
	attrStatus             = "egress_status"
	attrBucket             = "s3_egress_store_bucket"
	attrBucketPath         = "s3_egress_store_bucket_path"
	attrObjectList         = "s3_egress_store_object_list_location"
	attrSWBVersion         = "s3_swb_object_metadata_version"
	attrStagingVersion     = "s3_staging_object_metadata_version"
	attrTaskToken          = "task_token"
	attrCurrentGroup       = "current_reviewer_group"
	attrDownloadCount      = "download_count"
	attrSingleApproval     = "is_single_approval_enabled"
	prefixIG, prefixRIT    = "ig_reviewer_1_", "rit_reviewer_2_"
	suffixName, suffixMail = "name", "email"
	suffixAt, suffixReason = "dt", "reason"
	suffixDecision         = "decision"
)

// legacyItem is one item of the original's requests table, its attributes
// as text. The original wrote strings, but a table edited by hand or by
// another tool may hold a number (download_count) or a boolean
// (is_single_approval_enabled): both are taken as their text.
type legacyItem struct {
	attrs    map[string]string
	problems []string // attributes of a type no string can stand for
}

func readItem(item map[string]types.AttributeValue) legacyItem {
	it := legacyItem{attrs: map[string]string{}}
	names := make([]string, 0, len(item))
	for name := range item {
		names = append(names, name)
	}
	sort.Strings(names) // problems in a stable order
	for _, name := range names {
		switch v := item[name].(type) {
		case *types.AttributeValueMemberS:
			it.attrs[name] = strings.TrimSpace(v.Value)
		case *types.AttributeValueMemberN:
			it.attrs[name] = v.Value
		case *types.AttributeValueMemberBOOL:
			it.attrs[name] = strconv.FormatBool(v.Value)
		case *types.AttributeValueMemberNULL:
			// absent
		default:
			it.problems = append(it.problems, fmt.Sprintf("%s: a %s, want a string", name, typeName(v)))
		}
	}
	return it
}

func typeName(v types.AttributeValue) string {
	switch v.(type) {
	case *types.AttributeValueMemberM:
		return "map"
	case *types.AttributeValueMemberL:
		return "list"
	case *types.AttributeValueMemberB:
		return "binary"
	case *types.AttributeValueMemberSS, *types.AttributeValueMemberNS, *types.AttributeValueMemberBS:
		return "set"
	}
	return fmt.Sprintf("%T", v)
}

func (it legacyItem) get(name string) string { return it.attrs[name] }

// legacyTimeLayouts are the forms the original's times take: requested_dt
// and updated_dt are SWB's message times (JavaScript toISOString,
// "2022-03-01T09:14:03.512Z"); the reviewers' *_dt are what the frontend
// sent, JavaScript toUTCString ("Tue, 01 Mar 2022 10:02:47 GMT"); and a
// table touched by Python may hold isoformat() times, with or without an
// offset, or str(datetime) with a space. A time without a zone is UTC.
var legacyTimeLayouts = []string{
	time.RFC3339Nano,                // 2022-03-01T09:14:03.512Z, 2022-03-01T09:14:03.512345+00:00
	time.RFC1123,                    // Tue, 01 Mar 2022 10:02:47 GMT (toUTCString)
	time.RFC1123Z,                   // Tue, 01 Mar 2022 10:02:47 +0000
	"Mon, 2 Jan 2006 15:04:05 MST",  // a day of the month without its leading zero
	"2006-01-02T15:04:05.999999999", // Python isoformat() of a naive datetime
	"2006-01-02 15:04:05.999999999", // Python str(datetime)
	"2006-01-02 15:04:05.999999999Z07:00",
}

// parseLegacyTime parses one of the original's times, to the millisecond
// (the precision the new tables store).
func parseLegacyTime(s string) (time.Time, error) {
	for _, layout := range legacyTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(time.Millisecond), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time the original wrote (ISO 8601 like 2022-03-01T09:14:03.512Z, or like Tue, 01 Mar 2022 10:02:47 GMT)", s)
}

// parseFlag reads is_single_approval_enabled: the original compared it
// with "true" in one place and "True" in another, so both spellings are in
// real tables.
func parseFlag(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}
