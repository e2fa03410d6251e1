package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// content is how a generated file's bytes look.
type content int

const (
	text   content = iota // CSV, deflates to about a third
	random                // already compressed: .gz, .png
)

// file is a generated file: its content is a pure function of the fields.
type file struct {
	Path string  `json:"path"`
	Size int64   `json:"size"`
	Kind content `json:"kind"`
	Seed uint64  `json:"seed"`
}

// open returns the file's bytes as a stream.
func (f file) open() io.Reader {
	switch f.Kind {
	case text:
		return io.LimitReader(newCSV(f.Seed), f.Size)
	default:
		// The format's magic number first, so the automated checks sniff
		// what the extension says.
		magic := formatMagic[path.Ext(f.Path)]
		return io.LimitReader(io.MultiReader(strings.NewReader(magic), rand.NewChaCha8(seedBytes(f.Seed))), f.Size)
	}
}

// formatMagic starts the random content of already compressed files.
var formatMagic = map[string]string{
	".gz":  "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff",
	".png": "\x89PNG\r\n\x1a\n",
}

func seedBytes(seed uint64) (b [32]byte) {
	for i := range 4 {
		v := seed + uint64(i)*0x9e3779b97f4a7c15
		for j := range 8 {
			b[i*8+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// csvReader yields an endless CSV of plausible study measurements.
type csvReader struct {
	rng  *rand.Rand
	row  uint64
	buf  []byte // the current line
	line []byte // what is left of it to read
}

func newCSV(seed uint64) *csvReader {
	r := &csvReader{rng: rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))}
	r.line = []byte("participant_id,visit,sample_date,site,systolic,diastolic,heart_rate,bmi,outcome\n")
	return r
}

var sites = []string{"leeds", "london", "manchester", "glasgow", "cardiff", "belfast"}
var outcomes = []string{"control", "treated", "withdrawn", "lost-to-follow-up"}

func (r *csvReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(r.line) == 0 {
			r.next()
		}
		c := copy(p[n:], r.line)
		r.line = r.line[c:]
		n += c
	}
	return n, nil
}

func (r *csvReader) next() {
	r.row++
	b := r.buf[:0]
	b = append(b, "P-"...)
	b = strconv.AppendUint(b, 100000+r.row/4, 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, r.row%4+1, 10)
	b = append(b, ",2024-"...)
	b = appendPadded(b, r.rng.IntN(12)+1)
	b = append(b, '-')
	b = appendPadded(b, r.rng.IntN(28)+1)
	b = append(b, ',')
	b = append(b, sites[r.rng.IntN(len(sites))]...)
	for _, v := range []int{90 + r.rng.IntN(80), 50 + r.rng.IntN(50), 45 + r.rng.IntN(80)} {
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(v), 10)
	}
	b = append(b, ',')
	b = strconv.AppendFloat(b, 17+r.rng.Float64()*25, 'f', 1, 64)
	b = append(b, ',')
	b = append(b, outcomes[r.rng.IntN(len(outcomes))]...)
	r.buf = append(b, '\n')
	r.line = r.buf
}

func appendPadded(b []byte, v int) []byte {
	if v < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(v), 10)
}

// The release mix: four big files, two CSV and two already compressed (a
// .gz and a .png), take 2000/2048 of the bytes; files of 1–100 KiB, half
// CSV, a quarter .gz and a quarter .png, fill the rest. 2 GiB is four
// 500 MiB files and about a thousand small ones.
const (
	bigShare     = 2000.0 / 2048
	smallMin     = 1 << 10
	smallMax     = 100 << 10
	smallFolders = 32
)

// mix returns a deterministic mix of about total bytes.
func mix(seed uint64, total int64) []file {
	rng := rand.New(rand.NewPCG(seed, 1))
	big := int64(float64(total) * bigShare / 4)
	files := []file{
		{Path: "results/measurements.csv", Size: big, Kind: text},
		{Path: "results/visits.csv", Size: big, Kind: text},
		{Path: "results/reads.fastq.gz", Size: big, Kind: random},
		{Path: "results/scan.png", Size: big, Kind: random},
	}
	left := total - 4*big
	for i := 0; left > 0; i++ {
		size := min(smallMin+rng.Int64N(smallMax-smallMin+1), left)
		left -= size
		ext, kind := ".csv", text
		switch rng.IntN(4) {
		case 0:
			ext, kind = ".gz", random
		case 1:
			ext, kind = ".png", random
		}
		files = append(files, file{Path: fmt.Sprintf("tables/d%02d/part-%05d%s", i%smallFolders, i, ext), Size: size, Kind: kind})
	}
	for i := range files {
		files[i].Seed = rng.Uint64()
	}
	return files
}

// smallFiles returns n deterministic files of 1–100 KiB of every kind.
func smallFiles(seed uint64, n int) []file {
	rng := rand.New(rand.NewPCG(seed, 2))
	files := make([]file, n)
	for i := range files {
		kind, ext := text, ".csv"
		if i%2 == 1 {
			kind, ext = random, ".gz"
		}
		files[i] = file{Path: fmt.Sprintf("d%02d/f-%05d%s", i%smallFolders, i, ext), Size: smallMin + rng.Int64N(smallMax-smallMin+1), Kind: kind, Seed: rng.Uint64()}
	}
	return files
}

// largeFiles returns n deterministic files of size bytes, alternately CSV
// and already compressed.
func largeFiles(seed uint64, n int, size int64) []file {
	rng := rand.New(rand.NewPCG(seed, 3))
	files := make([]file, n)
	for i := range files {
		kind, ext := text, ".csv"
		if i%2 == 1 {
			kind, ext = random, ".gz"
		}
		files[i] = file{Path: fmt.Sprintf("large-%02d%s", i, ext), Size: size, Kind: kind, Seed: rng.Uint64()}
	}
	return files
}

// object is a generated file stored in S3.
type object struct {
	Path      string `json:"path"`
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	VersionID string `json:"version_id"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	CRC32     uint32 `json:"crc32"` // what a zip's directory records
}

func totalSize(objs []object) int64 {
	var n int64
	for _, o := range objs {
		n += o.Size
	}
	return n
}

// smallPut is the size up to which a file is uploaded with one PutObject.
const smallPut = 8 << 20

// upload generates the files into bucket under prefix, 16 at a time, and
// returns them with their version and SHA-256, in the order of files.
func upload(ctx context.Context, c *s3.Client, bucket, prefix string, files []file) ([]object, error) {
	objs := make([]object, len(files))
	errs := make([]error, len(files))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, f := range files {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			objs[i], errs[i] = put(ctx, c, bucket, path.Join(prefix, f.Path), f)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return objs, nil
}

func put(ctx context.Context, c *s3.Client, bucket, key string, f file) (object, error) {
	h, crc := sha256.New(), crc32.NewIEEE()
	sums := io.MultiWriter(h, crc)
	o := object{Path: f.Path, Bucket: bucket, Key: key, Size: f.Size}
	if f.Size > smallPut {
		_, version, err := uploadStream(ctx, c, bucket, key, io.TeeReader(f.open(), sums), 2)
		if err != nil {
			return o, err
		}
		o.VersionID = version
	} else {
		body, _ := io.ReadAll(io.TeeReader(f.open(), sums))
		out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
		if err != nil {
			return o, fmt.Errorf("put %s: %w", key, err)
		}
		o.VersionID = aws.ToString(out.VersionId)
	}
	o.SHA256, o.CRC32 = hex.EncodeToString(h.Sum(nil)), crc.Sum32()
	return o, nil
}
