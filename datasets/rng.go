package datasets

import (
	"math/bits"
	"math/rand/v2"
)

// Domain separators so that the shuffle, the split and the augmentation
// streams drawn from one user seed are unrelated to each other.
const (
	domainShuffle = 0x73687566666c6521 // "shuffle!"
	domainSplit   = 0x73706c6974746564 // "splitted"
	domainAugment = 0x6175676d656e7421 // "augment!"
	domainPreview = 0x7072657669657721 // "preview!"
)

// mix is the SplitMix64 finaliser (Steele, Lea & Flood, "Fast splittable
// pseudorandom number generators", OOPSLA 2014): it turns structured inputs
// such as (seed, epoch, row) into well-spread PCG seeds.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func newPCG(a, b uint64) *rand.PCG { return rand.NewPCG(a, b) }

// uintn draws an integer in [0, n) by Lemire's multiply-shift. It is ours
// rather than rand.Rand.IntN so that the streams, and with them every
// shuffle and augmentation, stay the same across Go releases; the bias,
// below n/2⁶⁴, is irrelevant for dataset sizes.
func uintn(src rand.Source, n uint64) uint64 {
	hi, _ := bits.Mul64(src.Uint64(), n)
	return hi
}

// unit draws a float64 uniformly from [0, 1) with 53 random bits.
func unit(src rand.Source) float64 {
	return float64(src.Uint64()>>11) * 0x1p-53
}

// permute fills perm with a uniformly random permutation of 0..len-1
// (Fisher–Yates, drawing from src).
func permute(perm []int, src rand.Source) {
	for i := range perm {
		perm[i] = i
	}
	for i := len(perm) - 1; i > 0; i-- {
		j := int(uintn(src, uint64(i+1)))
		perm[i], perm[j] = perm[j], perm[i]
	}
}
