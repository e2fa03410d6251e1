package objects

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tre-egress/egress/shared/egress"
)

// zipCheckpoint is where a zip written over several calls stands: its
// multipart upload and the parts uploaded, the entries written (what the
// directory needs, and each SHA-256 for SHA256SUMS), the entry cut
// mid-way, and the bytes written after the last part (pending), which
// are not uploaded yet: a part but the last must be at least 5 MiB.
//
// It is stored as one object, so that it is replaced whole or not at all:
// an 8-byte length, the gzipped JSON, then the pending bytes. The JSON
// keeps no paths (the job's entries have them) and short names: 100,000
// entries take about 4 MB.
type zipCheckpoint struct {
	Version     int       `json:"v"`
	Fingerprint string    `json:"fingerprint"` // of the job: see zipFingerprint
	UploadID    string    `json:"upload_id"`
	Modified    time.Time `json:"modified"` // of SHA256SUMS and manifest.json
	Calls       int       `json:"calls"`    // calls that saved it
	Size        int64     `json:"size"`     // bytes of zip written, pending ones included
	Parts       []ckPart  `json:"parts"`
	Files       []ckFile  `json:"files"`
	Current     *ckFile   `json:"current,omitempty"` // the entry cut mid-way

	pending []byte
}

type ckPart struct {
	N     int32  `json:"n"`
	ETag  string `json:"e"`
	CRC32 string `json:"c,omitempty"`
}

// ckFile is an entry written, or the one being written: its local
// header's offset, sizes and CRC32 so far, modification time (Unix
// seconds: what the zip keeps), and SHA-256 (hex), or the hash's state
// while the entry is cut.
type ckFile struct {
	Off   int64  `json:"o"`
	C     int64  `json:"c"`
	U     int64  `json:"u"`
	CRC   uint32 `json:"k"`
	Mod   int64  `json:"m"`
	SHA   string `json:"s,omitempty"`
	State []byte `json:"st,omitempty"`
}

const zipCheckpointVersion = 1

// zipFingerprint identifies what a checkpoint is a checkpoint of: the
// zip's place, its entries and what they must hold, the files left out and
// the block size. A checkpoint of anything else is not resumed.
func zipFingerprint(job egress.ZipJob, blockSize int) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	enc.Encode([]any{job.Bucket, job.Key, blockSize, len(job.Entries)})
	for _, e := range job.Entries {
		enc.Encode([]string{e.Path, e.Bucket, e.Key, e.VersionID, e.SHA256, e.SourceKey, e.SourceVersionID})
	}
	enc.Encode(job.LeftOut)
	return hex.EncodeToString(h.Sum(nil))
}

func newZipCheckpoint(job egress.ZipJob, z *zipStream, uploadID string, modified time.Time) *zipCheckpoint {
	return &zipCheckpoint{Version: zipCheckpointVersion, Fingerprint: zipFingerprint(job, z.blockSize), UploadID: uploadID, Modified: modified}
}

func (ck *zipCheckpoint) completedParts() []types.CompletedPart {
	parts := make([]types.CompletedPart, len(ck.Parts))
	for i, p := range ck.Parts {
		parts[i] = types.CompletedPart{PartNumber: aws.Int32(p.N), ETag: aws.String(p.ETag), ChecksumCRC32: optional(p.CRC32)}
	}
	return parts
}

// loadZipCheckpoint reads the job's checkpoint into z and returns it, or
// nil when there is none to resume: none saved, or one of another job
// (whose upload is then aborted).
func (s *Client) loadZipCheckpoint(ctx context.Context, job egress.ZipJob, z *zipStream) (*zipCheckpoint, error) {
	out, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(job.CheckpointBucket), Key: aws.String(job.CheckpointKey)})
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read checkpoint s3://%s/%s: %w", job.CheckpointBucket, job.CheckpointKey, err)
	}
	defer out.Body.Close()
	ck, err := decodeZipCheckpoint(out.Body)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint s3://%s/%s: %w", job.CheckpointBucket, job.CheckpointKey, err)
	}
	if ck.Version != zipCheckpointVersion || ck.Fingerprint != zipFingerprint(job, z.blockSize) || len(ck.Files) > len(job.Entries) {
		// Another zip's (or another block size's): start afresh. Its
		// upload, if it is ours to abort, goes.
		if ck.UploadID != "" {
			_ = s.abort(ctx, job.Bucket, job.Key, aws.String(ck.UploadID))
		}
		return nil, nil
	}
	z.size = ck.Size
	for i, f := range ck.Files {
		e := job.Entries[i]
		z.files = append(z.files, zipFile{Name: e.Path, Method: Method(e.Path), Modified: time.Unix(f.Mod, 0).UTC(), Offset: f.Off, CSize: f.C, USize: f.U, CRC32: f.CRC})
		z.sums = append(z.sums, f.SHA)
	}
	z.next = len(ck.Files)
	if c := ck.Current; c != nil {
		if z.next >= len(job.Entries) {
			return nil, fmt.Errorf("checkpoint s3://%s/%s: an entry cut after the last", job.CheckpointBucket, job.CheckpointKey)
		}
		e := job.Entries[z.next]
		z.cur = &zipResume{
			File:  zipFile{Name: e.Path, Method: Method(e.Path), Modified: time.Unix(c.Mod, 0).UTC(), Offset: c.Off, CSize: c.C, USize: c.U, CRC32: c.CRC},
			State: c.State,
		}
	}
	ck.Modified = ck.Modified.UTC()
	return ck, nil
}

// saveZipCheckpoint records where z stands, with the parts uploaded and
// the bytes pending after them, in one PUT.
func (s *Client) saveZipCheckpoint(ctx context.Context, job egress.ZipJob, ck *zipCheckpoint, z *zipStream, parts []types.CompletedPart, pending []byte) error {
	ck.Calls++
	ck.Size = z.size
	ck.Parts = ck.Parts[:0]
	for _, p := range parts {
		ck.Parts = append(ck.Parts, ckPart{N: aws.ToInt32(p.PartNumber), ETag: aws.ToString(p.ETag), CRC32: aws.ToString(p.ChecksumCRC32)})
	}
	ck.Files = ck.Files[:0]
	for i, f := range z.files[:min(len(z.files), len(job.Entries))] {
		ck.Files = append(ck.Files, ckFile{Off: f.Offset, C: f.CSize, U: f.USize, CRC: f.CRC32, Mod: f.Modified.Unix(), SHA: z.sums[i]})
	}
	ck.Current = nil
	if c := z.cur; c != nil {
		ck.Current = &ckFile{Off: c.File.Offset, C: c.File.CSize, U: c.File.USize, CRC: c.File.CRC32, Mod: c.File.Modified.Unix(), State: c.State}
	}
	var body bytes.Buffer
	body.Write(make([]byte, 8))
	gz := gzip.NewWriter(&body)
	if err := json.NewEncoder(gz).Encode(ck); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	binary.BigEndian.PutUint64(body.Bytes(), uint64(body.Len()-8))
	body.Write(pending)
	_, err := s.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(job.CheckpointBucket),
		Key:           aws.String(job.CheckpointKey),
		Body:          bytes.NewReader(body.Bytes()),
		ContentLength: aws.Int64(int64(body.Len())),
		ContentType:   aws.String("application/octet-stream"),
	})
	if err != nil {
		return fmt.Errorf("save checkpoint s3://%s/%s: %w", job.CheckpointBucket, job.CheckpointKey, err)
	}
	return nil
}

// dropZipCheckpoint deletes the job's checkpoint (its current version:
// earlier ones go with the caller's clean-up of the prefix).
func (s *Client) dropZipCheckpoint(ctx context.Context, job egress.ZipJob) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	_, err := s.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(job.CheckpointBucket), Key: aws.String(job.CheckpointKey)})
	if err != nil {
		return fmt.Errorf("delete checkpoint s3://%s/%s: %w", job.CheckpointBucket, job.CheckpointKey, err)
	}
	return nil
}

// maxCheckpointJSON bounds the gzipped JSON of a checkpoint read back.
const maxCheckpointJSON = 256 << 20

func decodeZipCheckpoint(r io.Reader) (*zipCheckpoint, error) {
	var n [8]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, fmt.Errorf("checkpoint header: %w", err)
	}
	size := binary.BigEndian.Uint64(n[:])
	if size > maxCheckpointJSON {
		return nil, fmt.Errorf("checkpoint of %d bytes: not one of ours", size)
	}
	gz, err := gzip.NewReader(io.LimitReader(r, int64(size)))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var ck zipCheckpoint
	if err := json.NewDecoder(gz).Decode(&ck); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	// The decoder may stop before the gzip stream's end: skip to the
	// pending bytes.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if ck.pending, err = io.ReadAll(r); err != nil {
		return nil, fmt.Errorf("checkpoint pending bytes: %w", err)
	}
	return &ck, nil
}
