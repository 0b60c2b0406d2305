package check

import (
	"math/big"
	"strings"
	"testing"
	"time"

	"tssgate/internal/decimal"
)

func TestParseTotal(t *testing.T) {
	long := strings.Repeat("9", 150) // beyond decimal.Parse's 100 digits
	longCoef, _ := new(big.Int).SetString(long+"5", 10)
	tests := []struct {
		name    string
		in      string
		want    decimal.Decimal
		wantErr bool
	}{
		{name: "zero", in: "0", want: decimal.Decimal{}},
		{name: "integer", in: "7502", want: decimal.New(big.NewInt(7502), 0)},
		{name: "fraction as NUMERIC spells it", in: "5400.0", want: decimal.New(big.NewInt(54000), 1)},
		{name: "151 digits", in: long + ".5", want: decimal.New(longCoef, 1)},
		{name: "exactly the bound", in: strings.Repeat("1", MaxTotalDigits), want: decimal.New(func() *big.Int {
			c, _ := new(big.Int).SetString(strings.Repeat("1", MaxTotalDigits), 10)
			return c
		}(), 0)},
		{name: "over the bound", in: strings.Repeat("1", MaxTotalDigits+1), wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "negative", in: "-1", wantErr: true},
		{name: "plus sign", in: "+1", wantErr: true},
		{name: "trailing dot", in: "1.", wantErr: true},
		{name: "leading dot", in: ".5", wantErr: true},
		{name: "exponent", in: "1e5", wantErr: true},
		{name: "space", in: "1 ", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTotal(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseTotal(%.20q) = %s, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got.Cmp(tt.want) != 0 {
				t.Fatalf("ParseTotal(%.20q) = %s, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestFormatTotalRefusesUnreadable(t *testing.T) {
	c, _ := new(big.Int).SetString(strings.Repeat("9", MaxTotalDigits+1), 10)
	if s, err := FormatTotal(decimal.New(c, 0)); err == nil {
		t.Fatalf("FormatTotal of %d digits = %.20q, want an error", MaxTotalDigits+1, s)
	}
	if s, err := FormatTotal(decimal.MustParse("1.50")); err != nil || s != "1.5" {
		t.Fatalf("FormatTotal(1.50) = %q, %v; want 1.5", s, err)
	}
}

func TestWindow(t *testing.T) {
	d := decimal.MustParse
	tests := []struct {
		name           string
		newest, before Total
		wantAmount     string
		wantCount      int64
		wantErr        bool
	}{
		{name: "nothing before the window", newest: Total{d("4.5"), 3}, wantAmount: "4.5", wantCount: 3},
		{name: "difference", newest: Total{d("4.5"), 3}, before: Total{d("1.5"), 1}, wantAmount: "3", wantCount: 2},
		{name: "empty window", newest: Total{d("4.5"), 3}, before: Total{d("4.5"), 3}, wantAmount: "0", wantCount: 0},
		{name: "amount decreases: corrupt", newest: Total{d("1"), 3}, before: Total{d("2"), 1}, wantErr: true},
		{name: "count decreases: corrupt", newest: Total{d("3"), 1}, before: Total{d("2"), 2}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, c, err := Window(tt.newest, tt.before)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Window = %s, %d; want an error", a, c)
				}
				return
			}
			if err != nil || a.Cmp(d(tt.wantAmount)) != 0 || c != tt.wantCount {
				t.Fatalf("Window = %s, %d, %v; want %s, %d", a, c, err, tt.wantAmount, tt.wantCount)
			}
		})
	}
}

func TestLedgerTime(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name             string
		received, newest time.Time
		want             time.Time
	}{
		{name: "no newest entry", received: t0, want: t0},
		{name: "received after the newest", received: t0.Add(time.Second), newest: t0, want: t0.Add(time.Second)},
		{name: "same instant", received: t0, newest: t0, want: t0},
		{name: "received before the newest moves later", received: t0, newest: t0.Add(time.Second), want: t0.Add(time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LedgerTime(tt.received, tt.newest); !got.Equal(tt.want) {
				t.Errorf("LedgerTime = %s, want %s", got, tt.want)
			}
		})
	}
}
