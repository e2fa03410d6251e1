package local

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tre-egress/egress/shared/cognito"
	"github.com/tre-egress/egress/shared/egress"
)

// UserPoolID is the local user pool's id (USER_POOL_ID).
const UserPoolID = Region + "_egresslocal"

// maxUsersPage is ListUsersInGroup's largest page (its Limit).
const maxUsersPage = 60

// DirectoryUser is a user of the local user pool: Cognito's user (its
// attributes and groups) and whether an administrator disabled it.
type DirectoryUser struct {
	cognito.User
	Disabled bool
}

// Directory implements Cognito's ListUsersInGroup (AWS JSON 1.1, X-Amz-Target
// AWSCognitoIdentityProviderService.ListUsersInGroup) for one user pool:
// users in username order, in pages of Limit (at most 60, the default)
// with an opaque NextToken, as Cognito pages them. A pool or group that
// does not exist is ResourceNotFoundException.
type Directory struct {
	PoolID string
	Groups []string // the pool's groups, members or not
	Users  []DirectoryUser
	// Created is every user's creation and last-modified time.
	Created time.Time
}

// DirectoryUsers are the local pool's users: each stage's reviewer of
// the scenarios (Reviewer), who decide, and the reviewers of the README's
// token examples, one more member of each default group.
func DirectoryUsers(chain egress.Chain, groups []string) []DirectoryUser {
	var out []DirectoryUser
	// The two-stage chain's reviewers are members whatever the chain, as
	// before chains were configurable.
	full := egress.DefaultChain(false)
	if len(chain.Stages) > len(full.Stages) || chain.Stages[0].Group != full.Stages[0].Group {
		full = chain
	}
	for i, st := range full.Stages {
		for v := range max(st.Reviewers, 1) {
			out = append(out, DirectoryUser{User: PoolUser(Voter(full, i, v))})
		}
	}
	for _, who := range []egress.Identity{
		{Subject: "local-ida@example.org", Email: "ida@example.org", Name: "Ida IG", Groups: []string{egress.GroupIG}},
		{Subject: "local-rob@example.org", Email: "rob@example.org", Name: "Rob RIT", Groups: []string{egress.GroupRIT}},
	} {
		if slices.Contains(groups, who.Groups[0]) {
			out = append(out, DirectoryUser{User: PoolUser(who)})
		}
	}
	return out
}

// Members returns the users in group, in username order.
func (d *Directory) Members(group string) []DirectoryUser {
	var out []DirectoryUser
	for _, u := range d.Users {
		if slices.Contains(u.Groups, group) {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b DirectoryUser) int { return cmp.Compare(a.username(), b.username()) })
	return out
}

func (u DirectoryUser) username() string { return cmp.Or(u.Username, u.Attributes["sub"]) }

// ServeHTTP handles ListUsersInGroup.
func (d *Directory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
	}
	if op := r.Header.Get("X-Amz-Target"); op != "AWSCognitoIdentityProviderService.ListUsersInGroup" {
		fail(http.StatusBadRequest, "UnknownOperationException", "only ListUsersInGroup is implemented, not "+op)
		return
	}
	var in struct {
		UserPoolID string `json:"UserPoolId"`
		GroupName  string
		Limit      *int
		NextToken  string
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&in); err != nil {
		fail(http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	limit := maxUsersPage
	if in.Limit != nil && *in.Limit != 0 {
		limit = *in.Limit
	}
	switch {
	case in.UserPoolID == "" || in.GroupName == "":
		fail(http.StatusBadRequest, "InvalidParameterException", "UserPoolId and GroupName are required")
		return
	case limit < 0 || limit > maxUsersPage:
		fail(http.StatusBadRequest, "InvalidParameterException",
			fmt.Sprintf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to %d", limit, maxUsersPage))
		return
	case in.UserPoolID != d.PoolID:
		fail(http.StatusBadRequest, "ResourceNotFoundException", "User pool "+in.UserPoolID+" does not exist.")
		return
	case !d.hasGroup(in.GroupName):
		fail(http.StatusBadRequest, "ResourceNotFoundException", "Group not found.")
		return
	}
	members := d.Members(in.GroupName)
	start := 0
	if in.NextToken != "" {
		var ok bool
		if start, ok = d.offset(in.NextToken, in.GroupName); !ok || start > len(members) {
			fail(http.StatusBadRequest, "InvalidParameterException", "Invalid pagination token.")
			return
		}
	}
	end := min(start+limit, len(members))
	type attribute struct{ Name, Value string }
	type user struct {
		Username             string
		Attributes           []attribute
		UserCreateDate       float64
		UserLastModifiedDate float64
		Enabled              bool
		UserStatus           string
	}
	out := struct {
		Users     []user
		NextToken string `json:",omitempty"`
	}{Users: []user{}}
	at := float64(d.Created.Unix())
	for _, u := range members[start:end] {
		var attrs []attribute
		for _, name := range slices.Sorted(func(yield func(string) bool) {
			for k := range u.Attributes {
				// The status is a field of its own, not an attribute.
				if k != "cognito:user_status" && !yield(k) {
					return
				}
			}
		}) {
			attrs = append(attrs, attribute{name, u.Attributes[name]})
		}
		out.Users = append(out.Users, user{Username: u.username(), Attributes: attrs, UserCreateDate: at, UserLastModifiedDate: at,
			Enabled: !u.Disabled, UserStatus: cmp.Or(u.Attributes["cognito:user_status"], "CONFIRMED")})
	}
	if end < len(members) {
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(in.GroupName + "\x00" + strconv.Itoa(end)))
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

func (d *Directory) hasGroup(g string) bool {
	return slices.Contains(d.Groups, g) || slices.ContainsFunc(d.Users, func(u DirectoryUser) bool { return slices.Contains(u.Groups, g) })
}

// offset reads a NextToken: the group it pages and where the next page
// starts. A token of another group is refused, as Cognito refuses a token
// with other parameters.
func (d *Directory) offset(token, group string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, false
	}
	g, n, ok := strings.Cut(string(raw), "\x00")
	if !ok || g != group {
		return 0, false
	}
	i, err := strconv.Atoi(n)
	return i, err == nil && i > 0
}
