package objects

import (
	"context"
	"reflect"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/testenv"
)

func TestManifest(t *testing.T) {
	store, c := newStore(t)
	ctx := context.Background()
	bucket := testenv.NewBucket(t, c, true)
	tests := []struct {
		name string
		key  string
		m    egress.Manifest
	}{
		{"empty", "ws/req0/manifest.json", egress.Manifest{RequestID: "req0", WorkspaceID: "ws"}},
		{"files", "ws/req1/staging manifest+1.json", egress.Manifest{RequestID: "req1", WorkspaceID: "ws", Files: []egress.File{
			{Path: "a/summary.csv", SourceKey: "ws/a/summary.csv", VersionID: "v1", Size: 3, SHA256: sum([]byte("abc"))},
			{Path: "b/summary.csv", SourceKey: "ws/b/summary.csv", VersionID: "v2", Size: 0, SHA256: sum(nil)},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := store.WriteManifest(ctx, bucket, tt.key, tt.m); err != nil {
				t.Fatal(err)
			}
			got, err := store.ReadManifest(ctx, bucket, tt.key)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.m) {
				t.Fatalf("read %+v, want %+v", got, tt.m)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		_, err := store.ReadManifest(ctx, bucket, "ws/none/manifest.json")
		wantCode(t, err, egress.ENOTFOUND, "ws/none/manifest.json")
	})
	t.Run("not json", func(t *testing.T) {
		put(t, c, bucket, "ws/bad/manifest.json", []byte("not json"))
		if _, err := store.ReadManifest(ctx, bucket, "ws/bad/manifest.json"); err == nil {
			t.Fatal("read a manifest that is not JSON")
		}
	})
}
