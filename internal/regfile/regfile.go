// Package regfile opens and reads files that must be regular files: the
// policy and its lists, governance files and signature bundles, approvers'
// keys and signatures, the governance pin.
//
// Whoever can write a directory tssgate reads from could put a named pipe
// (or a device) where such a file is expected: a plain open blocks until a
// writer appears, hanging serve's start or its reload path for ever. Open
// therefore opens without blocking and checks the open file with fstat
// (the open file, not the name, so a swap between a check and the read
// cannot matter) before anything is read.
package regfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Open opens path for reading, refusing anything that is not a regular
// file with an error naming the path and what it is. Errors wrap the fs
// errors (fs.ErrNotExist for a missing file).
func Open(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file (%s): refused", path, Kind(fi.Mode()))
	}
	return f, nil
}

// Read reads the whole regular file at path (see Open), refusing one of
// more than limit bytes.
func Read(path string, limit int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}

// Kind names a file's type for an error: "a named pipe", "a device", "a
// socket", "a directory", or its mode letters.
func Kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	case m.IsRegular():
		return "a regular file"
	}
	return "type " + m.Type().String()
}
