package dev.parley.testkit;

import java.nio.ByteBuffer;

/**
 * Element types {@link GgufWriter} can store weights in: the {@code ggml_type} id and how values are encoded.
 * Norm vectors are always F32, as llama.cpp expects.
 */
public enum TensorType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    /** Blocks of 32 values: an F16 scale, then 32 signed bytes; a row's length must be a multiple of 32. */
    Q8_0(8, 32, 34);

    final int ggmlType;
    final int blockValues;
    final int blockBytes;

    TensorType(int ggmlType, int blockValues, int blockBytes) {
        this.ggmlType = ggmlType;
        this.blockValues = blockValues;
        this.blockBytes = blockBytes;
    }

    /** The {@code general.file_type} (llama_ftype) of a model whose matrices have this type. */
    int fileType() {
        return switch (this) {
            case F32 -> 0;
            case F16 -> 1;
            case Q8_0 -> 7;
        };
    }

    long byteSize(long values) {
        return values / blockValues * blockBytes;
    }

    /** Appends {@code values} (whole blocks) to a little-endian buffer. */
    void encode(float[] values, ByteBuffer out) {
        switch (this) {
            case F32 -> {
                for (float v : values) {
                    out.putFloat(v);
                }
            }
            case F16 -> {
                for (float v : values) {
                    out.putShort(Float.floatToFloat16(v));
                }
            }
            case Q8_0 -> {
                for (int block = 0; block < values.length; block += 32) {
                    float max = 0;
                    for (int i = block; i < block + 32; i++) {
                        max = Math.max(max, Math.abs(values[i]));
                    }
                    // As ggml's quantize_row_q8_0_ref: scale = amax/127, values rounded half away from zero.
                    float scale = max / 127f;
                    float inverse = scale != 0 ? 1f / scale : 0f;
                    out.putShort(Float.floatToFloat16(scale));
                    for (int i = block; i < block + 32; i++) {
                        float scaled = values[i] * inverse;
                        out.put((byte) (Math.signum(scaled) * Math.floor(Math.abs(scaled) + 0.5f)));
                    }
                }
            }
        }
    }
}
