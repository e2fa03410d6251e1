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

// List returns requests in q.Status, newest requested first (ties by id,
// descending), by querying the by-status index: the cost is that of the page,
// not of the table. The index is eventually consistent, so a request
// changed a moment ago may still be listed under its old status.
func (s *Table) List(ctx context.Context, q egress.ListQuery) (egress.Page, error) {
	// The table refuses an invalid query whoever sends it, by the domain's
	// one rule for list queries.
	q, err := q.Normalize()
	if err != nil {
		return egress.Page{}, err
	}
	start, err := decodeToken(q.NextToken, q.Status)
	if err != nil {
		return egress.Page{}, err
	}
	cond := "#status = :status"
	names := map[string]string{"#status": AttrStatus}
	values := map[string]types.AttributeValue{":status": &types.AttributeValueMemberS{Value: string(q.Status)}}
	if !q.Since.IsZero() {
		// "<since>" sorts before every "<since>#<id>", so >= keeps requests
		// made exactly at Since.
		cond += " AND #key >= :since"
		names["#key"] = AttrListKey
		values[":since"] = &types.AttributeValueMemberS{Value: egress.FormatTime(q.Since)}
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(IndexStatus),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(q.Limit)), // at most MaxListLimit
		ExclusiveStartKey:         start,
	})
	if err != nil {
		return egress.Page{}, fmt.Errorf("list %s requests: %w", q.Status, err)
	}
	page := egress.Page{Requests: make([]egress.Request, 0, len(out.Items))}
	for _, item := range out.Items {
		r, err := decodeRequest(item)
		if err != nil {
			return egress.Page{}, fmt.Errorf("list %s requests: %w", q.Status, err)
		}
		page.Requests = append(page.Requests, r)
	}
	if page.NextToken, err = encodeToken(out.LastEvaluatedKey); err != nil {
		return egress.Page{}, fmt.Errorf("list %s requests: %w", q.Status, err)
	}
	return page, nil
}

// tokenAttrs are the attributes of a by-status LastEvaluatedKey: the index
// key and the table key.
var tokenAttrs = []string{AttrStatus, AttrListKey, AttrRequestID}

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
// for this status: tokens come back from clients.
func decodeToken(token string, status egress.Status) (map[string]types.AttributeValue, error) {
	if token == "" {
		return nil, nil
	}
	invalid := egress.Errorf(egress.EINVALID, "invalid next token")
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, invalid
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil || len(m) != len(tokenAttrs) {
		return nil, invalid
	}
	key := make(map[string]types.AttributeValue, len(m))
	for _, name := range tokenAttrs {
		v, ok := m[name]
		if !ok || v == "" {
			return nil, invalid
		}
		key[name] = &types.AttributeValueMemberS{Value: v}
	}
	if m[AttrStatus] != string(status) {
		return nil, egress.Errorf(egress.EINVALID, "next token belongs to a listing of %s requests, not %s", m[AttrStatus], status)
	}
	if !strings.HasSuffix(m[AttrListKey], "#"+m[AttrRequestID]) {
		return nil, invalid
	}
	return key, nil
}
