namespace RecurrentDepth.Modeling;

/// <summary>How to place a checkpoint when loading it.</summary>
public sealed record ModelLoadOptions
{
    /// <summary>"auto" (default: CUDA when available, else CPU), "cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; init; } = "auto";

    /// <summary>"auto" (default: bf16 on CUDA, fp32 on CPU), "float32", "bfloat16" or "float16".</summary>
    public string DType { get; init; } = "auto";

    /// <summary>
    /// When the checkpoint stores <c>lm_head.weight</c> besides <c>transformer.wte.weight</c>, compare the two and
    /// fail if they differ. Default false: only the shape is checked (the comparison reads the matrix twice).
    /// </summary>
    public bool VerifyTiedHead { get; init; }

    /// <summary>
    /// Fail the load when a weight holds NaN or infinity after conversion to the compute dtype, naming the tensor.
    /// Default false here (parity and training code load what they wrote); the engine sets it from
    /// <c>EngineOptions.CheckWeights</c>.
    /// </summary>
    public bool CheckFinite { get; init; }
}

/// <summary>Progress of a model load, reported once per tensor.</summary>
/// <param name="TensorName">Key of the tensor just loaded.</param>
/// <param name="FileName">File it came from.</param>
/// <param name="TensorsLoaded">Tensors loaded so far.</param>
/// <param name="TensorCount">Tensors to load in all.</param>
/// <param name="BytesLoaded">Checkpoint bytes read so far.</param>
/// <param name="TotalBytes">Checkpoint bytes to read in all.</param>
/// <param name="Elapsed">Time since the load began.</param>
public sealed record ModelLoadProgress(string TensorName, string FileName, int TensorsLoaded, int TensorCount, long BytesLoaded, long TotalBytes, TimeSpan Elapsed)
{
    /// <summary>Fraction of bytes loaded, 0..1.</summary>
    public double Fraction => TotalBytes == 0 ? 1 : (double)BytesLoaded / TotalBytes;

    /// <summary>Read rate in bytes per second.</summary>
    public double BytesPerSecond => Elapsed.TotalSeconds <= 0 ? 0 : BytesLoaded / Elapsed.TotalSeconds;
}
