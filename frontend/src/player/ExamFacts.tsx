import { examFacts, type ExamNumbers } from './facts';

export function ExamFacts({ exam }: { exam: ExamNumbers }) {
  const facts = examFacts(exam);
  if (facts.length === 0) return null;
  return (
    <ul className="exam-facts" data-testid="exam-facts">
      {facts.map((fact) => (
        <li key={fact}>{fact}</li>
      ))}
    </ul>
  );
}
