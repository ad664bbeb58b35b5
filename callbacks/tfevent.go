package callbacks

import (
	"encoding/binary"
	"hash/crc32"
	"math"
)

// This file writes TensorFlow event files by hand: the few protobuf
// messages TensorBoard and Katib's TensorFlowEvent collector read, encoded
// field by field, in TFRecord framing. A hand encoder of five messages is
// about a hundred lines; google.golang.org/protobuf plus generated code for
// tensorflow's event.proto, summary.proto and tensor.proto would add a
// module and a code generator to a package that depends on nothing.
//
// The messages and field numbers (tensorboard/compat/proto/*.proto, the
// same as tensorflow/core/{util/event,framework/summary,framework/tensor}.proto):
//
//	Event           { double wall_time = 1; int64 step = 2;
//	                  oneof what { string file_version = 3; Summary summary = 5; } }
//	Summary         { repeated Value value = 1; }
//	Summary.Value   { string tag = 1; TensorProto tensor = 8; SummaryMetadata metadata = 9; }
//	SummaryMetadata { PluginData plugin_data = 1; DataClass data_class = 4; }
//	PluginData      { string plugin_name = 1; bytes content = 2; }
//	TensorProto     { DataType dtype = 1; TensorShapeProto tensor_shape = 2;
//	                  repeated float float_val = 5 [packed]; }
//
// A scalar is what TF2's tf.summary.scalar writes: a rank-0 DT_FLOAT
// tensor (empty tensor_shape) with, on a tag's first value in the file,
// metadata naming the "scalars" plugin (its content, an empty
// ScalarPluginData, encodes to no bytes) and DATA_CLASS_SCALAR.

// Protobuf wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
)

// Field numbers and enum values used below.
const (
	eventWallTime    = 1
	eventStep        = 2
	eventFileVersion = 3
	eventSummary     = 5

	summaryValue = 1

	valueTag      = 1
	valueTensor   = 8
	valueMetadata = 9

	metadataPluginData = 1
	metadataDataClass  = 4
	pluginDataName     = 1
	dataClassScalar    = 1

	tensorDtype    = 1
	tensorShape    = 2
	tensorFloatVal = 5
	dtFloat        = 1

	// fileVersion is what every TF2 event file starts with.
	fileVersion = "brain.Event:2"
	// scalarsPlugin names TensorBoard's scalar dashboard.
	scalarsPlugin = "scalars"
)

func appendVarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func appendKey(b []byte, field, wire int) []byte {
	return appendVarint(b, uint64(field)<<3|uint64(wire))
}

// appendLen writes a length-delimited field whose content fill appends;
// the content is built after a one-byte length placeholder and moved when
// its length needs more bytes, so nested messages need no temporary
// buffers.
func appendLen(b []byte, field int, fill func([]byte) []byte) []byte {
	b = appendKey(b, field, wireBytes)
	at := len(b)
	b = append(b, 0)
	b = fill(b)
	n := len(b) - at - 1
	var lenBuf [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(lenBuf[:], uint64(n))
	if k > 1 {
		b = append(b, lenBuf[1:k]...) // grow by k-1 bytes
		copy(b[at+k:], b[at+1:at+1+n])
	}
	copy(b[at:], lenBuf[:k])
	return b
}

func appendString(b []byte, field int, s string) []byte {
	return appendLen(b, field, func(b []byte) []byte { return append(b, s...) })
}

// appendScalarEvent appends an Event holding one Summary.Value: a rank-0
// float tensor, with the scalar plugin's metadata when withMetadata.
func appendScalarEvent(b []byte, wallTime float64, step int64, tag string, v float32, withMetadata bool) []byte {
	b = appendEventHead(b, wallTime, step)
	return appendLen(b, eventSummary, func(b []byte) []byte {
		return appendLen(b, summaryValue, func(b []byte) []byte {
			b = appendString(b, valueTag, tag)
			b = appendLen(b, valueTensor, func(b []byte) []byte {
				b = appendKey(b, tensorDtype, wireVarint)
				b = appendVarint(b, dtFloat)
				b = appendLen(b, tensorShape, func(b []byte) []byte { return b }) // rank 0
				return appendLen(b, tensorFloatVal, func(b []byte) []byte {
					return binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
				})
			})
			if withMetadata {
				b = appendLen(b, valueMetadata, func(b []byte) []byte {
					b = appendLen(b, metadataPluginData, func(b []byte) []byte {
						return appendString(b, pluginDataName, scalarsPlugin)
					})
					b = appendKey(b, metadataDataClass, wireVarint)
					return appendVarint(b, dataClassScalar)
				})
			}
			return b
		})
	})
}

// appendFileVersionEvent appends the Event every file starts with.
func appendFileVersionEvent(b []byte, wallTime float64) []byte {
	b = appendEventHead(b, wallTime, 0)
	return appendString(b, eventFileVersion, fileVersion)
}

func appendEventHead(b []byte, wallTime float64, step int64) []byte {
	b = appendKey(b, eventWallTime, wireFixed64)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(wallTime))
	if step != 0 { // proto3 omits zero values
		b = appendKey(b, eventStep, wireVarint)
		b = appendVarint(b, uint64(step))
	}
	return b
}

// crc32c is the Castagnoli table TFRecord checksums use.
var crc32c = crc32.MakeTable(crc32.Castagnoli)

// maskedCRC is TFRecord's masked CRC-32C: rotated right by 15 bits plus a
// constant, so that a CRC of data holding CRCs stays well distributed.
func maskedCRC(data []byte) uint32 {
	c := crc32.Checksum(data, crc32c)
	return (c>>15 | c<<17) + 0xa282ead8
}

// appendRecord frames data as one TFRecord: the length as a little-endian
// uint64, its masked CRC, the data, the data's masked CRC.
func appendRecord(b, data []byte) []byte {
	at := len(b)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(data)))
	b = binary.LittleEndian.AppendUint32(b, maskedCRC(b[at:at+8]))
	b = append(b, data...)
	return binary.LittleEndian.AppendUint32(b, maskedCRC(data))
}
