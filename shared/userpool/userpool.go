// Package userpool looks up the reviewers' Amazon Cognito user pool: the
// members of a reviewer group, who are e-mailed when a request awaits
// their group's decision. In the local stack the same client talks to a
// small user directory.
package userpool

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// PageSize is ListUsersInGroup's largest page.
const PageSize = 60

// Cognito is the part of the Cognito user pools client used here.
type Cognito interface {
	ListUsersInGroup(ctx context.Context, in *cognitoidentityprovider.ListUsersInGroupInput, opts ...func(*cognitoidentityprovider.Options)) (*cognitoidentityprovider.ListUsersInGroupOutput, error)
}

// Directory reads one user pool.
type Directory struct {
	api    Cognito
	poolID string
}

// New returns a Directory of the pool poolID.
func New(api Cognito, poolID string) *Directory { return &Directory{api: api, poolID: poolID} }

// GroupEmails returns the e-mail addresses of the group's members that may
// be e-mailed, every page of them: enabled users whose address Cognito
// marks verified. A disabled user has left; an unverified address may not
// be theirs.
func (d *Directory) GroupEmails(ctx context.Context, group string) ([]string, error) {
	if d.poolID == "" || group == "" {
		return nil, errors.New("list users in group: a user pool id and a group are required")
	}
	var out []string
	p := cognitoidentityprovider.NewListUsersInGroupPaginator(d.api, &cognitoidentityprovider.ListUsersInGroupInput{
		UserPoolId: aws.String(d.poolID), GroupName: aws.String(group), Limit: aws.Int32(PageSize),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, fmt.Errorf("list users in group %s of %s: %w", group, d.poolID, err)
		}
		for _, u := range page.Users {
			if email, ok := mailable(u); ok {
				out = append(out, email)
			}
		}
	}
	return out, nil
}

// mailable returns the user's e-mail when the user is enabled and the
// address verified.
func mailable(u types.UserType) (string, bool) {
	if !u.Enabled {
		return "", false
	}
	var email, verified string
	for _, a := range u.Attributes {
		switch aws.ToString(a.Name) {
		case "email":
			email = aws.ToString(a.Value)
		case "email_verified":
			verified = aws.ToString(a.Value)
		}
	}
	return email, email != "" && verified == "true"
}
