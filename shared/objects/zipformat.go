package objects

import (
	"encoding/binary"
	"math"
	"time"
	"unicode/utf8"
)

// The zip records the release writes, laid out byte for byte as
// archive/zip's Writer lays them out for an entry streamed with a data
// descriptor (TestZipFormatMatchesArchiveZip holds them to it). The
// release writes them itself rather than through archive/zip because its
// directory must be rebuilt from a checkpoint when a zip is written over
// several invocations: archive/zip keeps its directory to itself.

const (
	zipLocalHeaderSig   = 0x04034b50
	zipDirHeaderSig     = 0x02014b50
	zipDirEndSig        = 0x06054b50
	zipDir64EndSig      = 0x06064b50
	zipDir64LocatorSig  = 0x07064b50
	zipDataDescSig      = 0x08074b50
	zipVersion20        = 20
	zipVersion45        = 45
	zipFlagDataDesc     = 0x8
	zipFlagUTF8         = 0x800
	zipExtTimeID        = 0x5455
	zipZip64ExtraID     = 0x0001
	zipUint32Max        = math.MaxUint32
	zipUint16Max        = math.MaxUint16
	zipDir64EndLen      = 56
	zipDir64LocatorLen  = 20
	zipDirEndLen        = 22
	zipLocalHeaderLen   = 30
	zipDirHeaderLen     = 46
	zipDataDescLen      = 16
	zipDataDesc64Len    = 24
	zipExtTimeExtraLen  = 9
	zipZip64ExtraLength = 28
)

// zipFile is one entry of the zip's directory.
type zipFile struct {
	Name     string
	Method   uint16
	Modified time.Time
	Offset   int64 // of its local header
	CSize    int64 // compressed
	USize    int64 // uncompressed
	CRC32    uint32
}

func (f zipFile) zip64() bool { return f.CSize >= zipUint32Max || f.USize >= zipUint32Max }

// flags are the general purpose flags archive/zip sets: a data descriptor
// follows the data, and the name is UTF-8 when it has to be.
func zipFlags(name string) uint16 {
	if valid, require := detectUTF8(name); valid && require {
		return zipFlagDataDesc | zipFlagUTF8
	}
	return zipFlagDataDesc
}

// detectUTF8 is archive/zip's: whether s is valid UTF-8 and whether it
// needs the UTF-8 flag (is not CP-437 compatible).
func detectUTF8(s string) (valid, require bool) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r < 0x20 || r > 0x7d || r == 0x5c {
			if !utf8.ValidRune(r) || (r == utf8.RuneError && size == 1) {
				return false, false
			}
			require = true
		}
	}
	return true, require
}

// msDosTime is archive/zip's timeToMsDosTime.
func msDosTime(t time.Time) (date, clock uint16) {
	if t.IsZero() {
		return 0, 0
	}
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	clock = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return date, clock
}

// extTime is the "extended timestamp" extra field archive/zip adds when
// the modification time is set.
func extTime(t time.Time) []byte {
	if t.IsZero() {
		return nil
	}
	b := make([]byte, zipExtTimeExtraLen)
	binary.LittleEndian.PutUint16(b[0:], zipExtTimeID)
	binary.LittleEndian.PutUint16(b[2:], 5)
	b[4] = 1
	binary.LittleEndian.PutUint32(b[5:], uint32(t.Unix()))
	return b
}

// appendLocalHeader appends f's local file header: sizes and CRC32 are
// zero, the data descriptor after the data carries them.
func appendLocalHeader(b []byte, f zipFile) []byte {
	date, clock := msDosTime(f.Modified)
	extra := extTime(f.Modified)
	b = binary.LittleEndian.AppendUint32(b, zipLocalHeaderSig)
	b = binary.LittleEndian.AppendUint16(b, zipVersion20)
	b = binary.LittleEndian.AppendUint16(b, zipFlags(f.Name))
	b = binary.LittleEndian.AppendUint16(b, f.Method)
	b = binary.LittleEndian.AppendUint16(b, clock)
	b = binary.LittleEndian.AppendUint16(b, date)
	b = append(b, make([]byte, 12)...) // CRC32, compressed and uncompressed sizes
	b = binary.LittleEndian.AppendUint16(b, uint16(len(f.Name)))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(extra)))
	b = append(b, f.Name...)
	return append(b, extra...)
}

// appendDataDescriptor appends the record that follows f's data, with
// 64-bit sizes when either size needs them.
func appendDataDescriptor(b []byte, f zipFile) []byte {
	b = binary.LittleEndian.AppendUint32(b, zipDataDescSig)
	b = binary.LittleEndian.AppendUint32(b, f.CRC32)
	if f.zip64() {
		b = binary.LittleEndian.AppendUint64(b, uint64(f.CSize))
		return binary.LittleEndian.AppendUint64(b, uint64(f.USize))
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(f.CSize))
	return binary.LittleEndian.AppendUint32(b, uint32(f.USize))
}

// appendDirectory appends the central directory of files, which starts at
// offset start of the zip, and its end records (Zip64 ones when the
// entries, the directory's size or its offset need them).
func appendDirectory(b []byte, files []zipFile, start int64) []byte {
	first := len(b)
	for _, f := range files {
		date, clock := msDosTime(f.Modified)
		extra := extTime(f.Modified)
		reader := uint16(zipVersion20)
		if f.zip64() {
			reader = zipVersion45
		}
		b = binary.LittleEndian.AppendUint32(b, zipDirHeaderSig)
		b = binary.LittleEndian.AppendUint16(b, zipVersion20) // made by
		b = binary.LittleEndian.AppendUint16(b, reader)
		b = binary.LittleEndian.AppendUint16(b, zipFlags(f.Name))
		b = binary.LittleEndian.AppendUint16(b, f.Method)
		b = binary.LittleEndian.AppendUint16(b, clock)
		b = binary.LittleEndian.AppendUint16(b, date)
		b = binary.LittleEndian.AppendUint32(b, f.CRC32)
		if f.zip64() || f.Offset >= zipUint32Max {
			b = binary.LittleEndian.AppendUint32(b, zipUint32Max)
			b = binary.LittleEndian.AppendUint32(b, zipUint32Max)
			z := make([]byte, 0, zipZip64ExtraLength)
			z = binary.LittleEndian.AppendUint16(z, zipZip64ExtraID)
			z = binary.LittleEndian.AppendUint16(z, 24)
			z = binary.LittleEndian.AppendUint64(z, uint64(f.USize))
			z = binary.LittleEndian.AppendUint64(z, uint64(f.CSize))
			z = binary.LittleEndian.AppendUint64(z, uint64(f.Offset))
			extra = append(extra, z...)
		} else {
			b = binary.LittleEndian.AppendUint32(b, uint32(f.CSize))
			b = binary.LittleEndian.AppendUint32(b, uint32(f.USize))
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(len(f.Name)))
		b = binary.LittleEndian.AppendUint16(b, uint16(len(extra)))
		b = binary.LittleEndian.AppendUint16(b, 0) // comment length
		b = append(b, 0, 0, 0, 0)                  // disk number, internal attributes
		b = binary.LittleEndian.AppendUint32(b, 0) // external attributes
		b = binary.LittleEndian.AppendUint32(b, uint32(min(f.Offset, zipUint32Max)))
		b = append(b, f.Name...)
		b = append(b, extra...)
	}
	end := start + int64(len(b)-first)
	records, size, offset := uint64(len(files)), uint64(end-start), uint64(start)
	if records >= zipUint16Max || size >= zipUint32Max || offset >= zipUint32Max {
		b = binary.LittleEndian.AppendUint32(b, zipDir64EndSig)
		b = binary.LittleEndian.AppendUint64(b, zipDir64EndLen-12)
		b = binary.LittleEndian.AppendUint16(b, zipVersion45)
		b = binary.LittleEndian.AppendUint16(b, zipVersion45)
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint64(b, records)
		b = binary.LittleEndian.AppendUint64(b, records)
		b = binary.LittleEndian.AppendUint64(b, size)
		b = binary.LittleEndian.AppendUint64(b, offset)
		b = binary.LittleEndian.AppendUint32(b, zipDir64LocatorSig)
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint64(b, uint64(end))
		b = binary.LittleEndian.AppendUint32(b, 1)
		records, size, offset = zipUint16Max, zipUint32Max, zipUint32Max
	}
	b = binary.LittleEndian.AppendUint32(b, zipDirEndSig)
	b = append(b, 0, 0, 0, 0) // disk numbers
	b = binary.LittleEndian.AppendUint16(b, uint16(records))
	b = binary.LittleEndian.AppendUint16(b, uint16(records))
	b = binary.LittleEndian.AppendUint32(b, uint32(size))
	b = binary.LittleEndian.AppendUint32(b, uint32(offset))
	return binary.LittleEndian.AppendUint16(b, 0) // comment length
}
