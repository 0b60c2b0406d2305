package token

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParsePrivateKey(t *testing.T) {
	gen := genRSA2048()
	small := genRSA1024()
	ec := genECDSA()
	ecSEC1, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	encrypted := []byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\nAAAA\n-----END RSA PRIVATE KEY-----\n")

	tests := []struct {
		name    string
		pem     []byte
		want    *rsa.PrivateKey // nil: an error is expected
		wantErr string
	}{
		{name: "cobo PKCS#1 file", pem: readFile(t, serverPrivFile), want: loadCoboServerPriv(t)},
		{name: "generated PKCS#1", pem: pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(gen)), want: gen},
		{name: "generated PKCS#8", pem: pkcs8(t, gen), want: gen},
		{name: "leading text before the PEM block", pem: append([]byte("comment line\n"), pkcs8(t, gen)...), want: gen},
		{name: "SPKI public key", pem: spki(t, &gen.PublicKey), wantErr: `PEM block "PUBLIC KEY" is a public key, expected a private key`},
		{name: "PKCS#1 public key", pem: pemBlock("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&gen.PublicKey)), wantErr: `PEM block "RSA PUBLIC KEY" is a public key, expected a private key`},
		{name: "ECDSA P-256 PKCS#8", pem: pkcs8(t, ec), wantErr: "PEM block holds an ECDSA key, expected an RSA private key"},
		{name: "ECDSA P-256 SEC1", pem: pemBlock("EC PRIVATE KEY", ecSEC1), wantErr: "PEM block holds an EC private key, expected an RSA private key"},
		{name: "Ed25519 PKCS#8", pem: pkcs8(t, genEd25519()), wantErr: "PEM block holds an Ed25519 key, expected an RSA private key"},
		{name: "RSA 1024 PKCS#1", pem: pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(small)), wantErr: "RSA key is 1024 bits, need at least 2048"},
		{name: "RSA 1024 PKCS#8", pem: pkcs8(t, small), wantErr: "RSA key is 1024 bits, need at least 2048"},
		{name: "garbage", pem: []byte("not a key at all"), wantErr: "no PEM block found"},
		{name: "empty", pem: nil, wantErr: "no PEM block found"},
		{name: "encrypted legacy PEM", pem: encrypted, wantErr: "encrypted PEM is not supported"},
		{name: "encrypted PKCS#8", pem: pemBlock("ENCRYPTED PRIVATE KEY", []byte{0x30, 0}), wantErr: "encrypted PEM is not supported"},
		{name: "certificate", pem: pemBlock("CERTIFICATE", []byte{0x30, 0}), wantErr: `unexpected PEM block "CERTIFICATE"`},
		{name: "corrupt PKCS#1 DER", pem: pemBlock("RSA PRIVATE KEY", []byte{0x30, 0x03, 0x02, 0x01}), wantErr: "parsing PKCS#1 private key: "},
		{name: "corrupt PKCS#8 DER", pem: pemBlock("PRIVATE KEY", []byte{0x30, 0x03, 0x02, 0x01}), wantErr: "parsing PKCS#8 private key: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePrivateKey(tc.pem)
			if tc.want != nil {
				if err != nil {
					t.Fatalf("ParsePrivateKey: %v", err)
				}
				if !got.Equal(tc.want) {
					t.Fatal("parsed key differs from the original")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
			if got != nil {
				t.Fatal("a key was returned along with an error")
			}
		})
	}
}

func TestParsePublicKey(t *testing.T) {
	gen := genRSA2048()
	small := genRSA1024()
	tests := []struct {
		name    string
		pem     []byte
		want    *rsa.PublicKey
		wantErr string
	}{
		{name: "cobo SPKI file", pem: readFile(t, serverPubFile), want: &loadCoboServerPriv(t).PublicKey},
		{name: "generated SPKI", pem: spki(t, &gen.PublicKey), want: &gen.PublicKey},
		{name: "generated PKCS#1", pem: pemBlock("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&gen.PublicKey)), want: &gen.PublicKey},
		{name: "PKCS#1 private key", pem: pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(gen)), wantErr: `PEM block "RSA PRIVATE KEY" is a private key, expected a public key`},
		{name: "PKCS#8 private key", pem: pkcs8(t, gen), wantErr: `PEM block "PRIVATE KEY" is a private key, expected a public key`},
		{name: "ECDSA P-256 SPKI", pem: spki(t, &genECDSA().PublicKey), wantErr: "PEM block holds an ECDSA key, expected an RSA public key"},
		{name: "Ed25519 SPKI", pem: spki(t, genEd25519().Public()), wantErr: "PEM block holds an Ed25519 key, expected an RSA public key"},
		{name: "RSA 1024 SPKI", pem: spki(t, &small.PublicKey), wantErr: "RSA key is 1024 bits, need at least 2048"},
		{name: "RSA 1024 PKCS#1", pem: pemBlock("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&small.PublicKey)), wantErr: "RSA key is 1024 bits, need at least 2048"},
		{name: "garbage", pem: []byte("-----BEGIN nothing"), wantErr: "no PEM block found"},
		{name: "certificate", pem: pemBlock("CERTIFICATE", []byte{0x30, 0}), wantErr: `unexpected PEM block "CERTIFICATE"`},
		{name: "corrupt SPKI DER", pem: pemBlock("PUBLIC KEY", []byte{0x30, 0x03, 0x02, 0x01}), wantErr: "parsing SPKI public key: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePublicKey(tc.pem)
			if tc.want != nil {
				if err != nil {
					t.Fatalf("ParsePublicKey: %v", err)
				}
				if !got.Equal(tc.want) {
					t.Fatal("parsed key differs from the original")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
			if got != nil {
				t.Fatal("a key was returned along with an error")
			}
		})
	}
}

// loadCoboServerPriv parses Cobo's PKCS#1 test key with the standard library
// alone, as an independent reference for the parser under test.
func loadCoboServerPriv(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	data := readFile(t, serverPrivFile)
	rest := data[bytes.Index(data, []byte("\n"))+1 : bytes.Index(data, []byte("-----END"))]
	der := decodeStdBase64(t, string(bytes.ReplaceAll(rest, []byte("\n"), nil)))
	k, err := x509.ParsePKCS1PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCoboKeysArePairs(t *testing.T) {
	for _, pair := range [][2]string{{nodePrivFile, nodePubFile}, {serverPrivFile, serverPubFile}} {
		priv, pub := loadPriv(t, pair[0]), loadPub(t, pair[1])
		if !priv.PublicKey.Equal(pub) {
			t.Errorf("%s does not match %s", pair[0], pair[1])
		}
		if bits := pub.N.BitLen(); bits != 2048 {
			t.Errorf("%s: %d bits, want 2048", pair[1], bits)
		}
	}
}

func TestLoadKeyErrorsNameTheFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "absent.pem")
	pubAsPriv := writeFile(t, "pub.key", readFile(t, serverPubFile))
	privAsPub := writeFile(t, "pri.pem", readFile(t, serverPrivFile))

	tests := []struct {
		name     string
		load     func(string) error
		path     string
		wantMsg  string
		notExist bool
	}{
		{name: "private missing", load: loadPrivErr, path: missing, wantMsg: "loading private key " + missing + ": ", notExist: true},
		{name: "public missing", load: loadPubErr, path: missing, wantMsg: "loading public key " + missing + ": ", notExist: true},
		{name: "public file as private", load: loadPrivErr, path: pubAsPriv, wantMsg: "loading private key " + pubAsPriv + `: PEM block "PUBLIC KEY" is a public key, expected a private key`},
		{name: "private file as public", load: loadPubErr, path: privAsPub, wantMsg: "loading public key " + privAsPub + `: PEM block "RSA PRIVATE KEY" is a private key, expected a public key`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.load(tc.path)
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantMsg) {
				t.Fatalf("err = %v, want prefix %q", err, tc.wantMsg)
			}
			if got := errors.Is(err, fs.ErrNotExist); got != tc.notExist {
				t.Fatalf("errors.Is(err, fs.ErrNotExist) = %v, want %v", got, tc.notExist)
			}
		})
	}
}

func loadPrivErr(p string) error { _, err := LoadPrivateKey(p); return err }
func loadPubErr(p string) error  { _, err := LoadPublicKey(p); return err }

func TestMarshalPEM(t *testing.T) {
	// Cobo's files are canonical PKCS#1/SPKI PEM, so re-encoding the parsed
	// keys must give the files back byte for byte.
	priv := loadPriv(t, serverPrivFile)
	if got, want := MarshalPrivateKeyPEM(priv), readFile(t, serverPrivFile); !bytes.Equal(got, want) {
		t.Errorf("MarshalPrivateKeyPEM(cobo key):\n%s\nwant\n%s", got, want)
	}
	if got, want := MarshalPublicKeyPEM(&priv.PublicKey), readFile(t, serverPubFile); !bytes.Equal(got, want) {
		t.Errorf("MarshalPublicKeyPEM(cobo key):\n%s\nwant\n%s", got, want)
	}

	gen := genRSA2048()
	privPEM := MarshalPrivateKeyPEM(gen)
	if !bytes.HasPrefix(privPEM, []byte("-----BEGIN RSA PRIVATE KEY-----\n")) {
		t.Errorf("private PEM header: %.40q", privPEM)
	}
	pubPEM := MarshalPublicKeyPEM(&gen.PublicKey)
	if !bytes.HasPrefix(pubPEM, []byte("-----BEGIN PUBLIC KEY-----\n")) {
		t.Errorf("public PEM header: %.40q", pubPEM)
	}
	back, err := ParsePrivateKey(privPEM)
	if err != nil || !back.Equal(gen) {
		t.Errorf("private round trip: %v", err)
	}
	backPub, err := ParsePublicKey(pubPEM)
	if err != nil || !backPub.Equal(&gen.PublicKey) {
		t.Errorf("public round trip: %v", err)
	}

	for name, k := range map[string]*rsa.PublicKey{"nil": nil, "no modulus": {E: 65537}} {
		if got := MarshalPublicKeyPEM(k); got != nil {
			t.Errorf("MarshalPublicKeyPEM(%s) = %q, want nil", name, got)
		}
	}
}

func TestGenerateKeyPair(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	privPath, pubPath, err := GenerateKeyPair(dir, 2048, PrivateKeyFile, PublicKeyFile)
	if err != nil {
		t.Fatalf("GenerateKeyPair: %v", err)
	}
	if privPath != filepath.Join(dir, PrivateKeyFile) || pubPath != filepath.Join(dir, PublicKeyFile) {
		t.Fatalf("paths = %s, %s", privPath, pubPath)
	}
	for path, want := range map[string]fs.FileMode{dir: fs.ModeDir | 0o700, privPath: 0o600, pubPath: 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode(); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}
	priv := loadPriv(t, privPath)
	pub := loadPub(t, pubPath)
	if !priv.PublicKey.Equal(pub) {
		t.Fatal("generated public key does not match the private key")
	}
	if bits := pub.N.BitLen(); bits != 2048 {
		t.Fatalf("generated %d bits, want 2048", bits)
	}
	if !bytes.HasPrefix(readFile(t, privPath), []byte("-----BEGIN RSA PRIVATE KEY-----")) {
		t.Error("private key file is not PKCS#1 PEM")
	}
	if !bytes.HasPrefix(readFile(t, pubPath), []byte("-----BEGIN PUBLIC KEY-----")) {
		t.Error("public key file is not SPKI PEM")
	}

	t.Run("refuses to overwrite an existing pair", func(t *testing.T) {
		privBefore, pubBefore := readFile(t, privPath), readFile(t, pubPath)
		_, _, err := GenerateKeyPair(dir, 2048, PrivateKeyFile, PublicKeyFile)
		if !errors.Is(err, fs.ErrExist) {
			t.Fatalf("err = %v, want fs.ErrExist", err)
		}
		if !bytes.Equal(readFile(t, privPath), privBefore) || !bytes.Equal(readFile(t, pubPath), pubBefore) {
			t.Fatal("existing key files were changed")
		}
	})

	t.Run("refuses when only the public file exists", func(t *testing.T) {
		dir := t.TempDir()
		existing := writeFile(t, "x", []byte("keep me"))
		if err := os.Rename(existing, filepath.Join(dir, PublicKeyFile)); err != nil {
			t.Fatal(err)
		}
		_, _, err := GenerateKeyPair(dir, 2048, PrivateKeyFile, PublicKeyFile)
		if !errors.Is(err, fs.ErrExist) {
			t.Fatalf("err = %v, want fs.ErrExist", err)
		}
		if _, err := os.Stat(filepath.Join(dir, PrivateKeyFile)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("private key file was written: %v", err)
		}
		if got := readFile(t, filepath.Join(dir, PublicKeyFile)); string(got) != "keep me" {
			t.Fatalf("existing file changed to %q", got)
		}
	})
}

func TestGenerateKeyPairRejects(t *testing.T) {
	tests := []struct {
		name              string
		bits              int
		privName, pubName string
		wantErr           string
	}{
		{name: "1024 bits", bits: 1024, privName: "a", pubName: "b", wantErr: "RSA key size 1024 not supported"},
		{name: "1234 bits", bits: 1234, privName: "a", pubName: "b", wantErr: "RSA key size 1234 not supported"},
		{name: "empty name", bits: 2048, privName: "", pubName: "b", wantErr: `"" is not a plain file name`},
		{name: "path in name", bits: 2048, privName: "a", pubName: "sub/b", wantErr: `"sub/b" is not a plain file name`},
		{name: "dot dot", bits: 2048, privName: "..", pubName: "b", wantErr: `".." is not a plain file name`},
		{name: "same names", bits: 2048, privName: "k", pubName: "k", wantErr: `file names are both "k"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			_, _, err := GenerateKeyPair(dir, tc.bits, tc.privName, tc.pubName)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("rejected call touched the file system: %v", err)
			}
		})
	}
}

func TestWriteNewFileNeverOverwrites(t *testing.T) {
	path := writeFile(t, "k", []byte("original"))
	err := writeNewFile(path, []byte("replacement"), 0o600)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err = %v, want fs.ErrExist", err)
	}
	if got := readFile(t, path); string(got) != "original" {
		t.Fatalf("file now holds %q", got)
	}
}
