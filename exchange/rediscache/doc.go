// Package rediscache is an encrypted Redis/Valkey second tier for the
// exchange package.
package rediscache
