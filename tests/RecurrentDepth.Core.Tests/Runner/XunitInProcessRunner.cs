using System.Reflection;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace RecurrentDepth.Tests.Runner;

/// <summary>One test's outcome, as the console runner reports it.</summary>
internal sealed record TestOutcome(string Class, string Name, string Result, double Seconds, string? Message, string? Output);

/// <summary>
/// Runs this assembly's xUnit tests in this process through xUnit's own framework (discovery and execution from
/// xunit.execution), so a machine with only the .NET runtime (no SDK, no vstest) can run them. Filters are class-name
/// prefixes; tests run one collection at a time, since the device is shared.
/// </summary>
internal sealed class XunitInProcessRunner
{
    private readonly IReadOnlyList<string> _classPrefixes;

    public XunitInProcessRunner(IReadOnlyList<string> classPrefixes)
    {
        ArgumentNullException.ThrowIfNull(classPrefixes);
        _classPrefixes = classPrefixes;
    }

    public IReadOnlyList<TestOutcome> Run(Assembly assembly, Action<TestOutcome> onResult)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        ArgumentNullException.ThrowIfNull(onResult);
        var diagnostics = new Sink(_ => { });
        using var framework = new XunitTestFramework(diagnostics);
        var cases = new List<ITestCase>();
        using (var discoveryDone = new ManualResetEventSlim())
        {
            var discoverer = framework.GetDiscoverer(Reflector.Wrap(assembly));
            discoverer.Find(false, new Sink(m =>
            {
                if (m is ITestCaseDiscoveryMessage found && Wanted(found.TestCase.TestMethod.TestClass.Class.Name))
                {
                    cases.Add(found.TestCase);
                }
                else if (m is IDiscoveryCompleteMessage)
                {
                    discoveryDone.Set();
                }
            }), new Options { ["xunit.discovery.PreEnumerateTheories"] = true });
            discoveryDone.Wait();
        }

        var outcomes = new List<TestOutcome>();
        using var finished = new ManualResetEventSlim();
        var executor = framework.GetExecutor(assembly.GetName());
        executor.RunTests(cases, new Sink(m =>
        {
            TestOutcome? outcome = m switch
            {
                ITestPassed p => Outcome(p, "pass", null),
                ITestFailed f => Outcome(f, "fail", string.Join(Environment.NewLine, f.ExceptionTypes.Zip(f.Messages, (t, msg) => $"{t}: {msg}")) + Environment.NewLine + string.Join(Environment.NewLine, f.StackTraces)),
                ITestSkipped s => Outcome(s, "skip", s.Reason),
                _ => null,
            };
            if (outcome is not null)
            {
                lock (outcomes)
                {
                    outcomes.Add(outcome);
                }

                onResult(outcome);
            }
            else if (m is ITestAssemblyFinished)
            {
                finished.Set();
            }
        }), new Options { ["xunit.execution.DisableParallelization"] = true });
        finished.Wait();
        return outcomes;
    }

    private bool Wanted(string className) => _classPrefixes.Count == 0 || _classPrefixes.Any(p => className.StartsWith(p, StringComparison.Ordinal));

    private static TestOutcome Outcome(ITestResultMessage result, string kind, string? message) =>
        new(result.TestCase.TestMethod.TestClass.Class.Name, result.Test.DisplayName, kind, (double)result.ExecutionTime, message, string.IsNullOrEmpty(result.Output) ? null : result.Output);

    private sealed class Sink(Action<IMessageSinkMessage> handle) : LongLivedMarshalByRefObject, IMessageSink
    {
        public bool OnMessage(IMessageSinkMessage message)
        {
            handle(message);
            return true;
        }
    }

    private sealed class Options : Dictionary<string, object?>, ITestFrameworkDiscoveryOptions, ITestFrameworkExecutionOptions
    {
        public TValue GetValue<TValue>(string name) => TryGetValue(name, out var value) && value is TValue typed ? typed : default!;

        public void SetValue<TValue>(string name, TValue value) => this[name] = value;
    }
}
