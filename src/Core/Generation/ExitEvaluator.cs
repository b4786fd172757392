using static TorchSharp.torch;

namespace RecurrentDepth.Generation;

/// <summary>
/// Per-token state of an exit criterion, with the reference's definitions: logit criteria look at the last position
/// only, latent criteria average over positions. One instance serves one token of one sequence.
/// </summary>
public sealed class ExitEvaluator : IDisposable
{
    private readonly ExitCriterion _criterion;
    private readonly double _threshold;
    private readonly int _vocab;
    private Tensor? _previousLatent;
    private Tensor? _previousLogProbs;
    private double _previousEntropy = 100.0;
    private long _previousArgmax = -1;
    private long _stableFor;

    /// <summary>Starts tracking a token whose recurrence begins at <paramref name="initialState"/> (1, S, h).</summary>
    public ExitEvaluator(ExitCriterion criterion, double threshold, int vocabSize, Tensor initialState)
    {
        _criterion = criterion;
        _threshold = threshold;
        _vocab = vocabSize;
        if (criterion is ExitCriterion.LatentDiff or ExitCriterion.Cosine)
        {
            _previousLatent = initialState.detach().clone().DetachFromDisposeScope();
        }
    }

    /// <summary>Whether <see cref="Check"/> needs the logits of the current state.</summary>
    public bool NeedsLogits => ExitCriteria.UsesLogits(_criterion);

    /// <summary>
    /// Evaluates the criterion after a recurrence. <paramref name="state"/> is the raw state (1, S, h);
    /// <paramref name="logits"/> the readout (1, S, vocab) when <see cref="NeedsLogits"/>.
    /// </summary>
    /// <returns>Whether to exit, and the criterion's value (as the reference records it).</returns>
    public (bool Exit, double Value) Check(Tensor state, Tensor? logits)
    {
        using var scope = NewDisposeScope();
        switch (_criterion)
        {
            case ExitCriterion.LatentDiff:
            {
                var value = ((state - _previousLatent!).norm(-1) / state.norm(-1)).mean().item<float>();
                Remember(state);
                return (value < _threshold, value);
            }

            case ExitCriterion.Cosine:
            {
                var cosine = (state * _previousLatent!).sum(-1) / state.norm(-1) / _previousLatent!.norm(-1);
                double value = 1 - cosine.mean().item<float>();
                Remember(state);
                return (value < _threshold, value);
            }

            case ExitCriterion.EntropyDiff:
            {
                var probs = nn.functional.softmax(LastPosition(logits), -1);
                double entropy = -(probs * (probs + 1e-10).log()).sum().item<float>();
                double value = Math.Abs(entropy - _previousEntropy);
                _previousEntropy = entropy;
                return (value < _threshold, value);
            }

            case ExitCriterion.Kl:
            case ExitCriterion.MinPKl:
            {
                var last = LastPosition(logits);
                Tensor logProbs;
                if (_criterion == ExitCriterion.Kl)
                {
                    logProbs = nn.functional.log_softmax(last, -1);
                }
                else
                {
                    var probs = nn.functional.softmax(last, -1);
                    var floor = probs.max() * 0.1;
                    probs = where(probs < floor, full_like(probs, 1.0 / _vocab), probs);
                    logProbs = (probs / probs.sum()).log();
                }

                double value = ExitDivergence.Kl(_previousLogProbs, logProbs, _vocab).item<float>();
                _previousLogProbs?.Dispose();
                _previousLogProbs = logProbs.DetachFromDisposeScope();
                return (value < _threshold, value);
            }

            case ExitCriterion.ArgmaxStability:
            {
                long argmax = LastPosition(logits).argmax().item<long>();
                _stableFor = argmax == _previousArgmax ? _stableFor + 1 : 0;
                _previousArgmax = argmax;
                return (_stableFor >= _threshold, _stableFor);
            }

            default:
                return (false, 0);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _previousLatent?.Dispose();
        _previousLogProbs?.Dispose();
    }

    private static Tensor LastPosition(Tensor? logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        return logits[0, -1].to(ScalarType.Float32);
    }

    private void Remember(Tensor state)
    {
        _previousLatent?.Dispose();
        _previousLatent = state.detach().clone().DetachFromDisposeScope();
    }
}
