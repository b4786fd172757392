using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using RecurrentDepth.Engine;
using RecurrentDepth.Generation;

namespace RecurrentDepth.SemanticKernel.Tests.Fakes;

/// <summary>
/// A deterministic engine: emits <see cref="Words"/> (capped by max_tokens) one token each. Per-token steps follow the
/// request's depth policy: every token runs MaxSteps under fixed depth; with a criterion all tokens but the last exit
/// early at max(MinSteps, MaxSteps / 2) and the last runs to the cap.
/// </summary>
internal sealed class FakeInferenceEngine(string modelId = "huginn-fake") : IInferenceEngine
{
    public static readonly string[] Words = ["The", " answer", " is", " 42", "."];

    public const double FlopsPerStep = 1e9;

    private readonly SemaphoreSlim _hanging = new(0);
    private int _calls;

    public ConcurrentQueue<GenerationRequest> Requests { get; } = new();

    /// <summary>Throws (before any token) when it returns an exception; gets the request and the 0-based call number.</summary>
    public Func<GenerationRequest, int, Exception?>? Reject { get; set; }

    /// <summary>Never produces a token (until cancelled) when this returns true.</summary>
    public Func<GenerationRequest, bool>? Hang { get; set; }

    /// <summary>Throws this after the first token (to check that a started stream is never retried).</summary>
    public Exception? FailAfterFirstToken { get; set; }

    /// <summary>Prompt tokens the summary reports as reused from a prefix cache.</summary>
    public int CachedInputTokens { get; set; }

    /// <summary>Ends every generation after its first token with finish reason cancelled, as the engine does when its host stops.</summary>
    public bool StopAfterFirstToken { get; set; }

    /// <summary>The convergence value of token i of a request (null: not measured); above 5e-4 counts as unconverged.</summary>
    public Func<GenerationRequest, int, double?>? ExitValue { get; set; }

    public const double UnconvergedAbove = 5e-4;

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Completes when one more call has started hanging (in call order), so a test can then move its clock.</summary>
    public Task NextHangAsync() => _hanging.WaitAsync();

    public GenerationRequest LastRequest => Requests.Last();

    public string ModelId { get; } = modelId;

    public EngineState State { get; set; } = EngineState.Ready;

    public string? FailureReason => null;

    public int QueueLength { get; set; }

    public int QueueCapacity { get; set; } = 4;

    public EngineLoad CurrentLoad => new() { QueueLength = QueueLength, QueueCapacity = QueueCapacity };

    public static string ExpectedText(int maxTokens = int.MaxValue) => string.Concat(Words.Take(maxTokens));

    public static int StepsFor(DepthPolicy depth, bool last) =>
        depth.Criterion == ExitCriterion.None || last ? depth.MaxSteps : Math.Max(depth.MinSteps, depth.MaxSteps / 2);

    public static int InputTokensFor(GenerationRequest request) =>
        request.Messages.Sum(m => m.Content.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length + 2);

    public async IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        int call = Interlocked.Increment(ref _calls) - 1;
        request.Validate();
        Requests.Enqueue(request);
        await Task.Yield();
        if (Reject?.Invoke(request, call) is { } error)
        {
            throw error;
        }

        if (Hang?.Invoke(request) == true)
        {
            _hanging.Release();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        int count = StopAfterFirstToken ? 1 : Math.Min(request.MaxNewTokens, Words.Length);
        var steps = new List<int>();
        int capHits = 0;
        var values = new List<double?>();
        for (int i = 0; i < count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            bool last = i == count - 1;
            int s = StepsFor(request.Depth, last);
            bool early = request.Depth.Criterion != ExitCriterion.None && !last;
            capHits += early ? 0 : 1;
            steps.Add(s);
            double? value = ExitValue?.Invoke(request, i);
            values.Add(value);
            yield return new GenerationUpdate(Words[i], new GeneratedToken(100 + i, s, early, value));
            if (FailAfterFirstToken is { } failure)
            {
                throw failure;
            }
        }

        int input = InputTokensFor(request);
        yield return new GenerationUpdate("", null, new GenerationSummary
        {
            InputTokens = input,
            CachedInputTokens = CachedInputTokens,
            OutputTokens = count,
            TotalSteps = steps.Sum(),
            MaxSteps = steps.Max(),
            CapHitTokens = capHits,
            UnconvergedTokens = values.Count(v => v > UnconvergedAbove),
            MaxExitValue = values.Max(),
            EffectiveFlops = (steps.Sum() + input * request.Depth.MaxSteps) * FlopsPerStep,
            FinishReason = StopAfterFirstToken ? FinishReason.Cancelled : count < Words.Length ? FinishReason.Length : FinishReason.Stop,
            Elapsed = TimeSpan.FromMilliseconds(100),
            Depth = request.Depth,
        });
    }
}
