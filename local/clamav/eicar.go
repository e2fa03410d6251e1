package clamav

import "strings"

// EICAR returns the 68-byte EICAR anti-virus test file, which every
// scanner reports and which harms nothing. It is assembled from parts so
// that no file of the repository holds it whole and trips a scanner run
// over the source.
func EICAR() []byte {
	return []byte(strings.Join([]string{
		`X5O!P%@AP[4\PZX54(P^)7CC)7}$`,
		"EICAR-STANDARD-",
		"ANTIVIRUS-TEST-",
		"FILE!$H+H*",
	}, ""))
}

// SignatureName is what clamd reports for EICAR from our own database,
// followed by ".UNOFFICIAL" as for any database clamd did not get from
// ClamAV.
const SignatureName = "Egress.Test.EICAR"
