package authres

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
)

func x509MarshalPKCS1(k *rsa.PrivateKey) []byte { return x509.MarshalPKCS1PrivateKey(k) }

func pemEncode(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
