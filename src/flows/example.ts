import { type FlowInput, flowSchema } from './model.js';

/** A typical office flow: working hours → menu → sales (everyone at once) or service (one by one) → voicemail. */
export const exampleFlowInput: FlowInput = {
  start: 'hours',
  language: 'ru-RU',
  nodes: {
    hours: {
      kind: 'schedule',
      hours: [{ days: [1, 2, 3, 4, 5], from: '09:00', to: '19:00' }],
      holidays: ['2026-12-31', '2027-01-01'],
      open: 'menu',
      closed: 'vm',
      holiday: 'holidayMsg',
    },
    holidayMsg: { kind: 'play', text: 'С праздником! Мы отдыхаем.', next: 'vm' },
    menu: {
      kind: 'menu',
      prompt: 'Отдел продаж — 1, сервис — 2',
      options: { '1': 'sales', '2': 'service' },
      timeoutSec: 5,
      repeat: 1,
      onTimeout: 'sales',
    },
    sales: {
      kind: 'ringGroup',
      name: 'Продажи',
      strategy: 'simultaneous',
      targets: [
        { kind: 'phone', number: '+79161112233', name: 'Анна' },
        { kind: 'sip', uri: 'sip:101@pbx.example.com', name: 'Борис' },
      ],
      ringTimeoutSec: 20,
      record: true,
      next: 'vm',
    },
    service: {
      kind: 'ringGroup',
      name: 'Сервис',
      strategy: 'sequential',
      targets: [
        { kind: 'phone', number: '+79035550007', name: 'Ольга' },
        { kind: 'phone', number: '+79035550009', name: 'Иван' },
      ],
      ringTimeoutSec: 15,
      next: 'vm',
    },
    vm: { kind: 'voicemail', prompt: 'Оставьте сообщение после сигнала', maxLengthSec: 120, next: 'bye' },
    bye: { kind: 'hangup' },
  },
};

export const exampleFlow = flowSchema.parse(exampleFlowInput);
