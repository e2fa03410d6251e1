package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/web"
)

// EnvWebDist names the folder of a built console (web/dist) for a stack
// whose Options.WebDist is empty.
const EnvWebDist = "EGRESS_WEB_DIST"

// Paths of the console's development sign-in on the front endpoint.
const (
	DevUsersPath = "/local/dev-users"
	DevTokenPath = "/local/dev-token"
)

// DevTokenTTL is how long the development users' tokens are valid.
const DevTokenTTL = 12 * time.Hour

// DefaultWebDist is where the console is built: $EGRESS_WEB_DIST, else
// web/dist of the module this file belongs to (found from the working
// folder upwards, then from this source file, as go run keeps it).
func DefaultWebDist() string {
	if d := os.Getenv(EnvWebDist); d != "" {
		return d
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/tre-egress/egress\n") {
				return filepath.Join(d, "web", "dist")
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "web", "dist")
}

// devUser is a development user of the console with who they are.
type devUser struct {
	web.DevUser
	who egress.Identity
}

// adminGroup is the TRE admins' group the API checks (the first of
// api.Service.AdminGroups; egress.GroupRIT by default).
func (s *Stack) adminGroup() string {
	if s.API != nil && len(s.API.AdminGroups) > 0 {
		return s.API.AdminGroups[0]
	}
	return egress.GroupRIT
}

// devUsers are the users the console offers to sign in as: the scenarios'
// reviewer of each stage, the TRE admin and the researcher who submitted
// the seeded request. With the default groups the RIT stage's group is
// the admin group (TREAdmin), which the labels say.
func (s *Stack) devUsers() []devUser {
	chain, err := s.opts.chain()
	if err != nil { // Start refused such options already
		return nil
	}
	admin := s.adminGroup()
	var out []devUser
	adminReviews := ""
	for i, st := range chain.Stages {
		who := Voter(chain, i, 0)
		label := st.Name + " reviewer"
		if st.Group == admin {
			label += " (" + st.Group + ", also TRE admin)"
			adminReviews = st.Name
		}
		out = append(out, devUser{web.DevUser{ID: slug(st.Name) + "-reviewer", Label: label}, who})
	}
	label := "TRE admin"
	if adminReviews != "" {
		label += " (" + admin + ", also " + adminReviews + " reviewer)"
	}
	adm := SampleAdmin
	adm.Groups = []string{admin}
	out = append(out, devUser{web.DevUser{ID: "tre-admin", Label: label}, adm})
	out = append(out, devUser{web.DevUser{ID: "researcher", Label: "Researcher"}, SampleResearcher})
	for i := range out {
		u := &out[i]
		u.Email, u.Name, u.Groups, u.SWBUserID = u.who.Email, u.who.Name, u.who.Groups, u.who.UserID
	}
	return out
}

func slug(s string) string {
	return strings.Trim(strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, s), "-")
}

// DevUsers lists the development users the console offers.
func (s *Stack) DevUsers() []web.DevUser {
	var out []web.DevUser
	for _, u := range s.devUsers() {
		out = append(out, u.DevUser)
	}
	return out
}

// DevTokens returns the tokens of development user id, minted as
// `egress-local token` mints them.
func (s *Stack) DevTokens(id string) (web.DevTokens, error) {
	for _, u := range s.devUsers() {
		if u.ID != id {
			continue
		}
		access, err := Token(s.Dir, u.who, UseAccess, DevTokenTTL)
		if err != nil {
			return web.DevTokens{}, fmt.Errorf("access token for %s: %w", id, err)
		}
		idToken, err := Token(s.Dir, u.who, UseID, DevTokenTTL)
		if err != nil {
			return web.DevTokens{}, fmt.Errorf("ID token for %s: %w", id, err)
		}
		return web.DevTokens{AccessToken: access, IDToken: idToken, ExpiresIn: int(DevTokenTTL.Seconds())}, nil
	}
	return web.DevTokens{}, fmt.Errorf("%w %q; GET %s lists them", errNoDevUser, id, DevUsersPath)
}

// ConsoleConfig is the console's config.json on this stack.
func (s *Stack) ConsoleConfig() web.Config {
	chain, _ := s.opts.chain()
	return web.Config{
		GraphQLURL: s.URL + "/graphql",
		Region:     Region,
		Auth: web.Auth{Kind: web.AuthLocal,
			DevUsersURL: s.URL + DevUsersPath, DevTokenURL: s.URL + DevTokenPath},
		ReviewerGroups:  chain.Groups(),
		AdminGroup:      s.adminGroup(),
		ResearcherGroup: ResearcherGroup,
		MaxDownloads:    s.Config.MaxDownloads,
	}
}

// ConsolePolicy is what the console may reach locally besides its own
// origin: the local S3 server, where previews' presigned URLs point.
func (s *Stack) ConsolePolicy() web.Policy {
	return web.Policy{Images: []string{s.S3.Endpoint}, Connect: []string{s.S3.Endpoint}}
}

func (s *Stack) webDist() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.WebDist != "" {
		return s.opts.WebDist
	}
	return DefaultWebDist()
}

// SetWebDist replaces Options.WebDist while the stack runs (tests serve a
// bundle of their own from a shared stack).
func (s *Stack) SetWebDist(dir string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.WebDist = dir
}

// ConsoleBuilt reports whether the console's bundle is there to serve.
func (s *Stack) ConsoleBuilt() bool {
	_, err := os.Stat(filepath.Join(s.webDist(), "index.html"))
	return err == nil
}

// consoleHandler serves the console built into Options.WebDist (read per
// request: SetWebDist).
func (s *Stack) consoleHandler() http.Handler {
	cfg, policy := s.ConsoleConfig(), s.ConsolePolicy()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web.Handler(s.webDist(), cfg, policy).ServeHTTP(w, r)
	})
}

func (s *Stack) serveDevUsers(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: GET "+DevUsersPath, http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(s.DevUsers())
}

// serveDevToken answers POST {"id": ...} with the user's tokens. Only a
// JSON body is read: a page of another origin cannot send one without a
// preflight, which the front endpoint does not answer (sameMachineOnly
// refuses its requests besides).
func (s *Stack) serveDevToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed: POST "+DevTokenPath+` with {"id": ...}`, http.StatusMethodNotAllowed)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		http.Error(w, "Content-Type must be application/json", http.StatusUnsupportedMediaType)
		return
	}
	var in struct {
		ID string `json:"id"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		http.Error(w, "body: want {\"id\": \"<development user id>\"}: "+err.Error(), http.StatusBadRequest)
		return
	}
	if in.ID == "" {
		http.Error(w, `body: "id" is required; GET `+DevUsersPath+" lists the users", http.StatusBadRequest)
		return
	}
	toks, err := s.DevTokens(in.ID)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, errNoDevUser) {
			status = http.StatusNotFound
		}
		http.Error(w, err.Error(), status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(toks)
}

var errNoDevUser = errors.New("no development user")
