package labelrender

// GS1CheckDigit is the GS1 mod-10 check digit of digits (ASCII '0'-'9'):
// weights 3 and 1 alternate from the rightmost digit, which weighs 3. It
// is the one definition for the bench: SSCCs and sequence numbers are
// built with it, and GS1-128 element values are checked with it.
func GS1CheckDigit(digits string) int {
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if (len(digits)-1-i)%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return (10 - sum%10) % 10
}

// gs1CheckDigitOK reports whether the last digit of digits is the check
// digit of the ones before it.
func gs1CheckDigitOK(digits string) bool {
	if digits == "" {
		return false
	}
	body := digits[:len(digits)-1]
	return GS1CheckDigit(body) == int(digits[len(digits)-1]-'0')
}
