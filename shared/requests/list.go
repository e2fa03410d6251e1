package requests

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/tre-egress/egress/shared/egress"
)

// List returns one page of requests, newest requested first (ties by id,
// descending; q.Oldest reverses it), by querying the index of what q selects: by-status for a
// status, by-workspace for a workspace, by-requester for a submitter. The
// cost is that of the page, not of the table. The indexes are eventually
// consistent, so a request changed a moment ago may still be listed under
// its old status, or a new one be missing.
func (s *Table) List(ctx context.Context, q egress.ListQuery) (egress.Page, error) {
	// The table refuses an invalid query whoever sends it, by the domain's
	// one rule for list queries.
	q, err := q.Normalize()
	if err != nil {
		return egress.Page{}, err
	}
	ix := listIndexOf(q)
	start, err := decodeToken(q.NextToken, ix)
	if err != nil {
		return egress.Page{}, err
	}
	cond := "#part = :part"
	names := map[string]string{"#part": ix.attr}
	values := map[string]types.AttributeValue{":part": &types.AttributeValueMemberS{Value: ix.value}}
	if !q.Since.IsZero() {
		// "<since>" sorts before every "<since>#<id>", so >= keeps requests
		// made exactly at Since.
		cond += " AND #key >= :since"
		names["#key"] = AttrListKey
		values[":since"] = &types.AttributeValueMemberS{Value: egress.FormatTime(q.Since)}
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(ix.name),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(q.Oldest),
		Limit:                     aws.Int32(int32(q.Limit)), // at most MaxListLimit
		ExclusiveStartKey:         start,
	})
	if err != nil {
		return egress.Page{}, fmt.Errorf("list requests of %s: %w", ix, err)
	}
	page := egress.Page{Requests: make([]egress.Request, 0, len(out.Items))}
	for _, item := range out.Items {
		r, err := decodeRequest(item)
		if err != nil {
			return egress.Page{}, fmt.Errorf("list requests of %s: %w", ix, err)
		}
		page.Requests = append(page.Requests, r)
	}
	if page.NextToken, err = encodeToken(out.LastEvaluatedKey); err != nil {
		return egress.Page{}, fmt.Errorf("list requests of %s: %w", ix, err)
	}
	return page, nil
}

// listIndex is the index a query reads and the partition it reads.
type listIndex struct {
	name, attr, value string
}

func (ix listIndex) String() string { return ix.attr + " " + ix.value }

// listIndexOf picks the index of a normalized query.
func listIndexOf(q egress.ListQuery) listIndex {
	switch {
	case q.WorkspaceID != "":
		return listIndex{IndexWorkspace, AttrWorkspace, q.WorkspaceID}
	case q.RequestedBy != "":
		return listIndex{IndexRequester, AttrRequestedBy, q.RequestedBy}
	}
	return listIndex{IndexStatus, AttrStatus, string(q.Status)}
}

// encodeToken makes a LastEvaluatedKey an opaque token: base64url of a JSON
// object of its (string) attributes.
func encodeToken(key map[string]types.AttributeValue) (string, error) {
	if len(key) == 0 {
		return "", nil
	}
	m := make(map[string]string, len(key))
	for name, v := range key {
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("next token: key attribute %s is %T, not a string", name, v)
		}
		m[name] = s.Value
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("next token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodeToken reverses encodeToken, refusing anything List did not produce
// for this index and partition: tokens come back from clients. A token's
// attributes are the index key and the table key (LastEvaluatedKey), so
// one index's token never passes for another's.
func decodeToken(token string, ix listIndex) (map[string]types.AttributeValue, error) {
	if token == "" {
		return nil, nil
	}
	invalid := egress.Errorf(egress.EINVALID, "invalid next token")
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, invalid
	}
	var m map[string]string
	attrs := []string{ix.attr, AttrListKey, AttrRequestID}
	if err := json.Unmarshal(b, &m); err != nil || len(m) != len(attrs) {
		return nil, invalid
	}
	key := make(map[string]types.AttributeValue, len(m))
	for _, name := range attrs {
		v, ok := m[name]
		if !ok || v == "" {
			if name == ix.attr {
				return nil, egress.Errorf(egress.EINVALID, "next token belongs to another listing, not one of %s", ix)
			}
			return nil, invalid
		}
		key[name] = &types.AttributeValueMemberS{Value: v}
	}
	if m[ix.attr] != ix.value {
		if ix.name == IndexStatus {
			return nil, egress.Errorf(egress.EINVALID, "next token belongs to a listing of %s requests, not %s", m[AttrStatus], ix.value)
		}
		return nil, egress.Errorf(egress.EINVALID, "next token belongs to another listing, not one of %s", ix)
	}
	if !strings.HasSuffix(m[AttrListKey], "#"+m[AttrRequestID]) {
		return nil, invalid
	}
	return key, nil
}
