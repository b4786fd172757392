namespace RecurrentDepth.Orleans.Placement;

/// <summary>
/// Chooses the silo for a new conversation from the silos' reports (no Orleans types, so it is tested on its own).
/// Silos whose engine is serving come first (a loading one only when none serves). Among those, the silos within
/// <c>tolerance</c> of the best <see cref="SiloLoadReport.Headroom"/> tie, and a tie goes to the silo holding the fewest
/// conversations (each will come back and need cache), then to the earliest in the given order.
/// </summary>
public static class HeadroomRanking
{
    /// <summary>Index into <paramref name="reports"/> of the chosen silo; -1 when the list is empty.</summary>
    /// <param name="reports">One report per candidate silo, in a stable order.</param>
    /// <param name="tolerance">Headroom difference that still counts as a tie (≥ 0).</param>
    public static int Choose(IReadOnlyList<SiloLoadReport> reports, double tolerance)
    {
        ArgumentNullException.ThrowIfNull(reports);
        ArgumentOutOfRangeException.ThrowIfNegative(tolerance);
        bool anyAccepting = reports.Any(r => r.Accepting);
        double best = double.NegativeInfinity;
        for (int i = 0; i < reports.Count; i++)
        {
            if (reports[i].Accepting == anyAccepting)
            {
                best = Math.Max(best, reports[i].Headroom);
            }
        }

        int chosen = -1;
        for (int i = 0; i < reports.Count; i++)
        {
            var r = reports[i];
            if (r.Accepting != anyAccepting || r.Headroom < best - tolerance)
            {
                continue;
            }

            if (chosen < 0 || r.Conversations < reports[chosen].Conversations)
            {
                chosen = i;
            }
        }

        return chosen;
    }
}
