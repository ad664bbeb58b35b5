package layers

import (
	"math"
	"math/rand/v2"
)

// Every initializer draws its numbers in float64, in the order of the
// tensor's elements, and rounds them to the tensor's dtype last: a float32
// and a float64 model built with the same seed start from the same weights
// up to rounding.

// fill writes gen() into every element of data ([]float32 or []float64).
func fill(data any, gen func() float64) {
	switch d := data.(type) {
	case []float32:
		for i := range d {
			d[i] = float32(gen())
		}
	case []float64:
		for i := range d {
			d[i] = gen()
		}
	}
}

// uniform fills data from U(−bound, bound).
func uniform(rng *rand.Rand, data any, bound float64) {
	fill(data, func() float64 { return (2*rng.Float64() - 1) * bound })
}

// normal fills data from N(0, std²).
func normal(rng *rand.Rand, data any, std float64) {
	fill(data, func() float64 { return rng.NormFloat64() * std })
}

// safeFan keeps a zero fan from dividing by zero; Scope.Param never passes
// one for a valid layer.
func safeFan(n int) float64 { return float64(max(n, 1)) }

// KaimingUniform draws from U(−b, b) with b = √(6 / ((1+a²)·fanIn)): He et
// al. 2015, "Delving Deep into Rectifiers", for a leaky ReLU of slope a.
// PyTorch's nn.Linear and nn.Conv2d initialise their weights with a = √5,
// which gives b = 1/√fanIn; that is Dense's and Conv2D's default.
func KaimingUniform(a float64) Initializer {
	return func(rng *rand.Rand, data any, fanIn, _ int) {
		uniform(rng, data, math.Sqrt(6/((1+a*a)*safeFan(fanIn))))
	}
}

// LinearBiasUniform draws from U(−1/√fanIn, 1/√fanIn), the bias
// initialisation of PyTorch's nn.Linear and nn.Conv2d (Dense's and Conv2D's
// default).
func LinearBiasUniform(rng *rand.Rand, data any, fanIn, _ int) {
	uniform(rng, data, 1/math.Sqrt(safeFan(fanIn)))
}

// GlorotUniform draws from U(−b, b) with b = √(6 / (fanIn+fanOut)): Glorot
// and Bengio 2010, "Understanding the difficulty of training deep
// feedforward neural networks" (Keras' default, torch.nn.init.xavier_uniform_).
func GlorotUniform(rng *rand.Rand, data any, fanIn, fanOut int) {
	uniform(rng, data, math.Sqrt(6/safeFan(fanIn+fanOut)))
}

// GlorotNormal draws from N(0, 2/(fanIn+fanOut)) (torch.nn.init.xavier_normal_).
func GlorotNormal(rng *rand.Rand, data any, fanIn, fanOut int) {
	normal(rng, data, math.Sqrt(2/safeFan(fanIn+fanOut)))
}

// HeUniform draws from U(−√(6/fanIn), √(6/fanIn)), the Kaiming uniform
// initialisation for ReLU layers (torch.nn.init.kaiming_uniform_ with a = 0).
func HeUniform(rng *rand.Rand, data any, fanIn, fanOut int) {
	KaimingUniform(0)(rng, data, fanIn, fanOut)
}

// HeNormal draws from N(0, 2/fanIn) (torch.nn.init.kaiming_normal_ with
// a = 0), the Kaiming normal initialisation for ReLU layers.
func HeNormal(rng *rand.Rand, data any, fanIn, _ int) {
	normal(rng, data, math.Sqrt(2/safeFan(fanIn)))
}

// Zeros fills the tensor with zeros and draws nothing, so it does not
// shift the random stream of the layers built after it.
func Zeros(_ *rand.Rand, data any, _, _ int) { fill(data, func() float64 { return 0 }) }

// Constant returns an initializer that sets every element to v.
func Constant(v float64) Initializer {
	return func(_ *rand.Rand, data any, _, _ int) { fill(data, func() float64 { return v }) }
}

// Uniform returns an initializer that draws from U(lo, hi).
func Uniform(lo, hi float64) Initializer {
	return func(rng *rand.Rand, data any, _, _ int) {
		fill(data, func() float64 { return lo + (hi-lo)*rng.Float64() })
	}
}

// Normal returns an initializer that draws from N(mean, std²).
func Normal(mean, std float64) Initializer {
	return func(rng *rand.Rand, data any, _, _ int) {
		fill(data, func() float64 { return mean + std*rng.NormFloat64() })
	}
}
