package egress_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/egress"
)

var admin = egress.Identity{Subject: "sub-admin", Email: "admin@example.org", Groups: []string{egress.GroupRIT}}

// TestRevokeEveryStatus tries a revocation from every status, released or
// not, under both chains: only the chain's final approved status with a zip
// may be revoked.
func TestRevokeEveryStatus(t *testing.T) {
	for _, single := range []bool{false, true} {
		chain := egress.DefaultChain(single)
		final := chain.Stages[len(chain.Stages)-1].ApprovedStatus
		for _, st := range egress.Statuses {
			for _, released := range []bool{false, true} {
				r := egress.Request{ID: "req-1", Status: st, SingleApproval: single, Version: 4}
				if released {
					r.ZipKey = "approved_egress/ws/req-1/egress_data.zip"
				}
				got, ev, err := egress.Revoke(r, chain, admin, "  data breach  ", now)
				name := chain.String() + "/" + string(st)
				if released {
					name += "/released"
				}
				switch {
				case st == final && released:
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if got.Status != egress.StatusRevoked || got.RevokedBy != admin.Email || got.RevokeReason != "data breach" ||
						!got.RevokedAt.Equal(now) || got.ZipRemoval != egress.ZipPending || !got.PurgeAfter.Equal(now) || got.ZipKey != r.ZipKey {
						t.Errorf("%s: revoked request %+v", name, got)
					}
					if ev.Kind != egress.EventRevoked || ev.From != final || ev.To != egress.StatusRevoked || ev.Actor != admin.Email || ev.Reason != "data breach" {
						t.Errorf("%s: event %+v", name, ev)
					}
					if r.Status != final {
						t.Errorf("%s: the argument was modified", name)
					}
				case st == egress.StatusRevoked:
					if egress.ErrorCode(err) != egress.ECONFLICT || !strings.Contains(err.Error(), "already revoked") {
						t.Errorf("%s: got %v, want ConflictError already revoked", name, err)
					}
				default:
					if egress.ErrorCode(err) != egress.ECONFLICT || !strings.Contains(err.Error(), "not released") {
						t.Errorf("%s: got %v, want ConflictError not released", name, err)
					}
				}
			}
		}
	}
}

func TestRevokeReason(t *testing.T) {
	r := egress.Request{ID: "req-1", Status: egress.StatusRITApproved, ZipKey: "k", Version: 4}
	tests := []struct {
		name, reason, wantErr string
	}{
		{"empty", "", "a reason is required"},
		{"blank", " \t\n", "a reason is required"},
		{"too long", strings.Repeat("é", egress.MaxReasonLength+1), "at most 4000"},
		{"longest", strings.Repeat("é", egress.MaxReasonLength), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := egress.Revoke(r, egress.DefaultChain(false), admin, tt.reason, now)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if egress.ErrorCode(err) != egress.EINVALID || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want ValidationError %q", err, tt.wantErr)
			}
		})
	}
}

func TestZipRemovedAndPurgeDue(t *testing.T) {
	revoked, _, err := egress.Revoke(egress.Request{ID: "req-1", Status: egress.StatusRITApproved, ZipKey: "k", Version: 4},
		egress.DefaultChain(false), admin, "breach", now)
	if err != nil {
		t.Fatal(err)
	}
	kept := revoked
	kept.PurgeAfter = now.Add(48 * time.Hour)
	tests := []struct {
		name             string
		r                egress.Request
		to               egress.ZipRemoval
		at               time.Time
		wantPurge, wantH bool
		wantErr          string
	}{
		{"pending, no retention: purge", revoked, egress.ZipPending, now, true, false, ""},
		{"pending, kept: hide", kept, egress.ZipPending, now, false, true, ""},
		{"hidden, kept: nothing yet", kept, egress.ZipHidden, now.Add(47 * time.Hour), false, false, ""},
		{"hidden, retention passed: purge", kept, egress.ZipHidden, now.Add(48 * time.Hour), true, false, ""},
		{"purged: nothing", revoked, egress.ZipPurged, now.Add(1000 * time.Hour), false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ev, err := egress.ZipRemoved(tt.r, tt.to, "S3 said no", now)
			if err != nil {
				t.Fatal(err)
			}
			if got.ZipRemoval != tt.to || ev.Kind != egress.EventZipRemoved || ev.To != egress.StatusRevoked {
				t.Errorf("got %s, event %+v", got.ZipRemoval, ev)
			}
			if (tt.to == egress.ZipPending) != strings.Contains(got.FailureCause, "S3 said no") {
				t.Errorf("failure cause %q", got.FailureCause)
			}
			purge, hide := egress.PurgeDue(got, tt.at)
			if purge != tt.wantPurge || hide != tt.wantH {
				t.Errorf("PurgeDue = %v, %v; want %v, %v", purge, hide, tt.wantPurge, tt.wantH)
			}
		})
	}
	if _, _, err := egress.ZipRemoved(egress.Request{ID: "r", Status: egress.StatusRITApproved}, egress.ZipPurged, "", now); egress.ErrorCode(err) != egress.ECONFLICT {
		t.Errorf("zip removal of a request not revoked: %v", err)
	}
	purged, _, _ := egress.ZipRemoved(revoked, egress.ZipPurged, "", now)
	if _, _, err := egress.ZipRemoved(purged, egress.ZipHidden, "", now); egress.ErrorCode(err) != egress.ECONFLICT {
		t.Errorf("hiding a purged zip: %v", err)
	}
	if p, h := egress.PurgeDue(egress.Request{Status: egress.StatusRITApproved, ZipKey: "k"}, now); p || h {
		t.Error("a request not revoked is due for purge")
	}
}
